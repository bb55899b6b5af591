package io.uiommu.uapi;

import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.HwptPaging;
import io.uiommu.iommufd.Ioas;
import io.uiommu.iommufd.IoPagetable;
import io.uiommu.iommufd.IommufdContext;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.mem.UserMemory;
import io.uiommu.proc.UserProcess;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.List;

import static io.uiommu.uapi.UapiConstants.VFIO_API_VERSION;
import static io.uiommu.uapi.UapiConstants.VFIO_DMA_CC_IOMMU;
import static io.uiommu.uapi.UapiConstants.VFIO_DMA_MAP_FLAG_READ;
import static io.uiommu.uapi.UapiConstants.VFIO_DMA_MAP_FLAG_WRITE;
import static io.uiommu.uapi.UapiConstants.VFIO_DMA_UNMAP_FLAG_ALL;
import static io.uiommu.uapi.UapiConstants.VFIO_IOMMU_INFO_CAPS;
import static io.uiommu.uapi.UapiConstants.VFIO_IOMMU_INFO_PGSIZES;
import static io.uiommu.uapi.UapiConstants.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
import static io.uiommu.uapi.UapiConstants.VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL;
import static io.uiommu.uapi.UapiConstants.VFIO_NOIOMMU_IOMMU;
import static io.uiommu.uapi.UapiConstants.VFIO_TYPE1_IOMMU;
import static io.uiommu.uapi.UapiConstants.VFIO_TYPE1v2_IOMMU;
import static io.uiommu.uapi.UapiConstants.VFIO_UNMAP_ALL;

/**
 * The VFIO type1 container ioctls accepted on an iommufd, and IOMMU_VFIO_IOAS which picks the IOAS
 * they act on (drivers/iommu/iommufd/vfio_compat.c). A VFIO struct is not size-ruled like an
 * iommufd one: the handler reads its fixed minimum, checks {@code argsz} against it, and writes back
 * no more than the caller said it has. Commands without a handler are ENOTTY (ENOIOCTLCMD).
 *
 * <p>Locking: every entry runs under the context lock the dispatcher holds.
 */
public final class VfioCompat {
    private static final VarHandle LE16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LE32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LE64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    /** Obsolete VFIO extension numbers the kernel answers with 0. */
    static final long VFIO_TYPE1_NESTING_IOMMU = 6;
    static final long VFIO_UPDATE_VADDR = 10;

    /** CONFIG_VFIO_NOIOMMU of the reference kernel (Debian's 6.12 amd64 config leaves it unset). */
    static final boolean CONFIG_VFIO_NOIOMMU = false;

    private static final long PAGE_SIZE = UserMemory.PAGE_SIZE;
    private static final long PAGE_MASK = -PAGE_SIZE;

    private static final UapiStruct INFO = VfioStructs.VFIO_IOMMU_TYPE1_INFO;
    private static final UapiStruct MAP = VfioStructs.VFIO_IOMMU_TYPE1_DMA_MAP;
    private static final UapiStruct UNMAP = VfioStructs.VFIO_IOMMU_TYPE1_DMA_UNMAP;
    private static final UapiStruct VFIO_IOAS = IommufdStructs.IOMMU_VFIO_IOAS;

    /** sizeof(struct vfio_iommu_type1_info_cap_iova_range) without its flexible array. */
    private static final int CAP_IOVA_SIZE = VfioStructs.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE.size();
    /** sizeof(struct vfio_iova_range). */
    private static final int IOVA_RANGE_SIZE = 16;
    /** sizeof(struct vfio_iommu_type1_info_dma_avail). */
    private static final int CAP_DMA_AVAIL_SIZE = VfioStructs.VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL.size();
    /** Offset of {@code next} in struct vfio_info_cap_header. */
    private static final int CAP_NEXT = VfioStructs.VFIO_INFO_CAP_HEADER.offset("next");

    private VfioCompat() {
    }

    // ---- the compatibility IOAS ----

    /** get_compat_ioas: the IOAS the VFIO ioctls act on, or ENODEV when none is set. */
    private static Ioas compatIoas(IommufdContext ctx) {
        Ioas ioas = ctx.vfioIoas();
        if (ioas == null) {
            throw new IommufdException(Errno.ENODEV, "no VFIO compatibility IOAS");
        }
        return ioas;
    }

    /** iommufd_vfio_compat_ioas_get_id: the ID of the compatibility IOAS; ENODEV when there is none. */
    public static int compatIoasGetId(IommufdContext ctx) {
        synchronized (ctx) {
            return compatIoas(ctx).id();
        }
    }

    /**
     * iommufd_vfio_compat_ioas_create: what attaching a VFIO group to the container does. Creates an
     * IOAS (a user-visible object that dies at DESTROY or close) and makes it the compatibility IOAS,
     * unless one is already set, in which case nothing changes.
     */
    public static void compatIoasCreate(IommufdContext ctx) {
        synchronized (ctx) {
            int id = ctx.objects().reserve();
            if (ctx.vfioIoas() != null) {
                ctx.objects().abort(id);
                return;
            }
            Ioas ioas;
            try {
                ioas = new Ioas(ctx);
            } catch (RuntimeException e) {
                ctx.objects().abort(id);
                throw e;
            }
            ctx.setVfioIoas(ioas);
            ctx.objects().finalize(id, ioas);
        }
    }

    // ---- IOMMU_VFIO_IOAS ----

    static long vfioIoas(Ucmd u) {
        if (u.u16(VFIO_IOAS.offset("__reserved")) != 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "reserved field set");
        }
        int op = u.u16(VFIO_IOAS.offset("op"));
        switch (op) {
            case UapiConstants.IOMMU_VFIO_IOAS_GET -> {
                u.put32(VFIO_IOAS.offset("ioas_id"), compatIoas(u.ctx).id());
                u.respond();
                return 0;
            }
            case UapiConstants.IOMMU_VFIO_IOAS_SET -> {
                u.ctx.setVfioIoas(u.ctx.objects().get(u.u32(VFIO_IOAS.offset("ioas_id")), Ioas.class));
                return 0;
            }
            case UapiConstants.IOMMU_VFIO_IOAS_CLEAR -> {
                u.ctx.setVfioIoas(null);
                return 0;
            }
            default -> throw new IommufdException(Errno.EOPNOTSUPP, "unknown IOMMU_VFIO_IOAS op " + op);
        }
    }

    // ---- the VFIO container ioctls ----

    static long ioctl(IommufdContext ctx, UserProcess caller, Ioctl op, long arg) {
        return switch (op) {
            case VFIO_GET_API_VERSION -> VFIO_API_VERSION;
            case VFIO_SET_IOMMU -> setIommu(ctx, arg);
            case VFIO_CHECK_EXTENSION -> checkExtension(ctx, arg);
            case VFIO_IOMMU_GET_INFO -> getInfo(ctx, caller.memory(), arg);
            case VFIO_IOMMU_MAP_DMA -> mapDma(ctx, caller, arg);
            case VFIO_IOMMU_UNMAP_DMA -> unmapDma(ctx, caller.memory(), arg);
            default -> throw new IommufdException(Errno.ENOTTY, "not a VFIO compatibility command");
        };
    }

    /** VFIO_SET_IOMMU: TYPE1 or TYPE1v2 on an existing compatibility IOAS; TYPE1 turns large pages off. */
    private static long setIommu(IommufdContext ctx, long type) {
        // No VFIO group can put the context in no-IOMMU mode here, and CONFIG_VFIO_NOIOMMU is off.
        if (type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU) {
            throw new IommufdException(Errno.EINVAL, "unsupported IOMMU type " + Long.toUnsignedString(type));
        }
        Ioas ioas = compatIoas(ctx);
        if (type == VFIO_TYPE1_IOMMU) {
            // TYPE1 may unmap inside a mapping: emulated by never using large IOPTEs.
            ioas.iopt().disableLargePages();
        }
        return 0;
    }

    /** VFIO_CHECK_EXTENSION: 1 for what iommufd emulates, 0 otherwise; DMA_CC_IOMMU needs the IOAS. */
    private static long checkExtension(IommufdContext ctx, long type) {
        if (type == VFIO_TYPE1_IOMMU || type == VFIO_TYPE1v2_IOMMU || type == VFIO_UNMAP_ALL) {
            return 1;
        }
        if (type == VFIO_NOIOMMU_IOMMU) {
            return CONFIG_VFIO_NOIOMMU ? 1 : 0;
        }
        if (type == VFIO_DMA_CC_IOMMU) {
            return ccIommu(ctx);
        }
        return 0; // VFIO_TYPE1_NESTING_IOMMU, VFIO_UPDATE_VADDR and anything unknown
    }

    /**
     * iommufd_vfio_cc_iommu: 1 unless a paging HWPT of the compatibility IOAS does not enforce cache
     * coherency. No driver modelled here reports IOMMU_CAP_ENFORCE_CACHE_COHERENCY (the mock does not),
     * so a HWPT never enforces it and any HWPT makes the answer 0.
     */
    private static long ccIommu(IommufdContext ctx) {
        Ioas ioas = compatIoas(ctx);
        for (HwptPaging hwpt : ioas.hwpts()) {
            if (!enforcesCacheCoherency(hwpt)) {
                return 0;
            }
        }
        return 1;
    }

    private static boolean enforcesCacheCoherency(HwptPaging hwpt) {
        return false;
    }

    // ---- VFIO_IOMMU_GET_INFO ----

    /** iommufd_get_pagesizes: the page sizes every domain supports, at least PAGE_SIZE and the IOVA alignment. */
    private static long pageSizes(IoPagetable iopt) {
        long bitmap = -1L;
        for (IommuDomain d : iopt.domains()) {
            bitmap &= d.pgsizeBitmap();
        }
        if ((bitmap & ~PAGE_MASK) != 0) {
            bitmap &= PAGE_MASK;
            bitmap |= PAGE_SIZE;
        }
        long alignment = iopt.iovaAlignment();
        return Long.compareUnsigned(bitmap, alignment) >= 0 ? bitmap : alignment;
    }

    private interface CapFiller {
        /** Writes the capability at {@code at} if {@code avail} bytes fit it; returns its full size. */
        int fill(UserMemory mem, Ioas ioas, long at, long avail);
    }

    private static final CapFiller[] CAP_FILLERS = {VfioCompat::fillDmaAvail, VfioCompat::fillIovaRanges};

    /** VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL: iommufd's limit is the memory cgroup, so U32_MAX. */
    private static int fillDmaAvail(UserMemory mem, Ioas ioas, long at, long avail) {
        if (avail >= CAP_DMA_AVAIL_SIZE) {
            byte[] cap = new byte[CAP_DMA_AVAIL_SIZE];
            LE16.set(cap, 0, (short) VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
            LE16.set(cap, 2, (short) 1);
            LE32.set(cap, VfioStructs.VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL.offset("avail"), -1);
            mem.write(at, cap, 0, cap.length);
        }
        return CAP_DMA_AVAIL_SIZE;
    }

    /**
     * VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE: the holes between reserved ranges. Each range is written
     * if it fits entirely; the header (with the full count) only if every range fit.
     */
    private static int fillIovaRanges(UserMemory mem, Ioas ioas, long at, long avail) {
        List<long[]> holes = ioas.iopt().usableRanges();
        byte[] range = new byte[IOVA_RANGE_SIZE];
        int n = 0;
        for (long[] hole : holes) {
            if (avail >= CAP_IOVA_SIZE + (long) IOVA_RANGE_SIZE * (n + 1)) {
                LE64.set(range, 0, hole[0]);
                LE64.set(range, 8, hole[1]);
                mem.write(at + CAP_IOVA_SIZE + (long) IOVA_RANGE_SIZE * n, range, 0, range.length);
            }
            n++;
        }
        int size = CAP_IOVA_SIZE + IOVA_RANGE_SIZE * n;
        if (avail >= size) {
            UapiStruct s = VfioStructs.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
            byte[] cap = new byte[CAP_IOVA_SIZE];
            LE16.set(cap, s.offset("header.id"), (short) VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
            LE16.set(cap, s.offset("header.version"), (short) 1);
            LE32.set(cap, s.offset("nr_iovas"), n);
            mem.write(at, cap, 0, cap.length);
        }
        return size;
    }

    /**
     * VFIO_IOMMU_GET_INFO: page sizes and the capability chain. A caller whose argsz is too small for
     * the chain gets the capabilities that fit, cap_offset 0 and the argsz it needs; nothing is ever
     * written past argsz.
     */
    private static long getInfo(IommufdContext ctx, UserMemory mem, long arg) {
        int minsz = INFO.offsetOfEnd("iova_pgsizes");
        byte[] info = new byte[INFO.size()];
        mem.read(arg, info, 0, minsz);
        long argsz = Integer.toUnsignedLong((int) LE32.get(info, INFO.offset("argsz")));
        if (argsz < minsz) {
            throw new IommufdException(Errno.EINVAL, "argsz " + argsz + " below " + minsz);
        }
        int copyBack = (int) Math.min(argsz, INFO.size());
        Ioas ioas = compatIoas(ctx);

        int flags = VFIO_IOMMU_INFO_PGSIZES;
        LE64.set(info, INFO.offset("iova_pgsizes"), pageSizes(ioas.iopt()));
        LE32.set(info, INFO.offset("cap_offset"), 0);

        long total = INFO.size();
        long lastCap = -1;
        for (CapFiller filler : CAP_FILLERS) {
            int capSize = argsz > total ? filler.fill(mem, ioas, arg + total, argsz - total) : filler.fill(mem, ioas, 0, 0);
            capSize = (capSize + 7) & ~7;
            if (lastCap >= 0 && argsz >= total) {
                mem.writeInt(arg + lastCap + CAP_NEXT, (int) total);
            }
            lastCap = total;
            total += capSize;
        }

        if (argsz >= total) {
            LE32.set(info, INFO.offset("cap_offset"), INFO.size());
        }
        LE32.set(info, INFO.offset("argsz"), (int) total);
        flags |= VFIO_IOMMU_INFO_CAPS;
        LE32.set(info, INFO.offset("flags"), flags);
        mem.write(arg, info, 0, copyBack);
        return 0;
    }

    // ---- VFIO_IOMMU_MAP_DMA / UNMAP_DMA ----

    /** VFIO_IOMMU_MAP_DMA: maps user memory at a fixed IOVA of the compatibility IOAS. */
    private static long mapDma(IommufdContext ctx, UserProcess caller, long arg) {
        int minsz = MAP.offsetOfEnd("size");
        byte[] map = new byte[minsz];
        caller.memory().read(arg, map, 0, minsz);
        long argsz = Integer.toUnsignedLong((int) LE32.get(map, MAP.offset("argsz")));
        int flags = (int) LE32.get(map, MAP.offset("flags"));
        if (argsz < minsz || (flags & ~(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)) != 0) {
            throw new IommufdException(Errno.EINVAL, "bad argsz or flags");
        }
        int prot = IommuDomain.IOMMU_CACHE;
        if ((flags & VFIO_DMA_MAP_FLAG_READ) != 0) {
            prot |= IommuDomain.IOMMU_READ;
        }
        if ((flags & VFIO_DMA_MAP_FLAG_WRITE) != 0) {
            prot |= IommuDomain.IOMMU_WRITE;
        }
        Ioas ioas = compatIoas(ctx);
        ioas.iopt().mapUser(caller, (long) LE64.get(map, MAP.offset("vaddr")), (long) LE64.get(map, MAP.offset("size")),
                (long) LE64.get(map, MAP.offset("iova")), true, prot, ctx.accountMm());
        return 0;
    }

    /**
     * VFIO_IOMMU_UNMAP_DMA: unmaps whole mappings inside the range (TYPE1 first cuts mappings at the
     * range's ends) or, with UNMAP_ALL, everything. The bytes unmapped go back in {@code size}, even
     * when the unmap stops early with an error.
     */
    private static long unmapDma(IommufdContext ctx, UserMemory mem, long arg) {
        int minsz = UNMAP.offsetOfEnd("size");
        byte[] unmap = new byte[minsz];
        mem.read(arg, unmap, 0, minsz);
        long argsz = Integer.toUnsignedLong((int) LE32.get(unmap, UNMAP.offset("argsz")));
        int flags = (int) LE32.get(unmap, UNMAP.offset("flags"));
        if (argsz < minsz || (flags & ~VFIO_DMA_UNMAP_FLAG_ALL) != 0) {
            throw new IommufdException(Errno.EINVAL, "bad argsz or flags");
        }
        Ioas ioas = compatIoas(ctx);
        IoPagetable iopt = ioas.iopt();
        long iova = (long) LE64.get(unmap, UNMAP.offset("iova"));
        long size = (long) LE64.get(unmap, UNMAP.offset("size"));

        IommufdException failure = null;
        long unmapped;
        if ((flags & VFIO_DMA_UNMAP_FLAG_ALL) != 0) {
            if (iova != 0 || size != 0) {
                throw new IommufdException(Errno.EINVAL, "UNMAP_ALL with an IOVA or size");
            }
            long before = mappedBytes(iopt);
            try {
                unmapped = iopt.unmapAll();
            } catch (IommufdException e) {
                failure = e;
                unmapped = before - mappedBytes(iopt);
            }
        } else {
            if (iopt.largePagesDisabled()) {
                // TYPE1: cut at the last byte of the range and just before it (no cut before IOVA 0).
                long[] cuts = iova != 0 ? new long[] {iova + size - 1, iova - 1} : new long[] {iova + size - 1};
                iopt.cut(cuts);
            }
            long before = mappedBytes(iopt);
            try {
                unmapped = iopt.unmap(iova, size);
            } catch (IommufdException e) {
                failure = e;
                unmapped = before - mappedBytes(iopt);
            }
        }
        LE64.set(unmap, UNMAP.offset("size"), unmapped);
        mem.write(arg, unmap, 0, minsz);
        if (failure != null) {
            throw failure;
        }
        return 0;
    }

    /** Total bytes of the IOAS's areas: what an unmap that failed half way already removed is the difference. */
    private static long mappedBytes(IoPagetable iopt) {
        long total = 0;
        for (long[] r : iopt.areaRanges()) {
            total += r[1] - r[0] + 1;
        }
        return total;
    }
}
