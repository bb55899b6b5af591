package io.uiommu.uapi;

import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.Ioas;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.iommufd.IoPagetable;
import io.uiommu.iommufd.ObjectTable;
import io.uiommu.proc.UserProcess;

import java.util.ArrayList;
import java.util.List;

import static io.uiommu.uapi.IommufdStructs.IOMMU_IOAS_ALLOC;
import static io.uiommu.uapi.IommufdStructs.IOMMU_IOAS_ALLOW_IOVAS;
import static io.uiommu.uapi.IommufdStructs.IOMMU_IOAS_COPY;
import static io.uiommu.uapi.IommufdStructs.IOMMU_IOAS_IOVA_RANGES;
import static io.uiommu.uapi.IommufdStructs.IOMMU_IOAS_MAP;
import static io.uiommu.uapi.IommufdStructs.IOMMU_IOAS_UNMAP;
import static io.uiommu.uapi.IommufdStructs.IOMMU_IOVA_RANGE;
import static io.uiommu.uapi.IommufdStructs.IOMMU_OPTION;

/** The IOAS ioctls and IOMMU_OPTION (drivers/iommu/iommufd/ioas.c). */
final class IoasIoctls {
    private IoasIoctls() {
    }

    static final int MAP_FIXED_IOVA = UapiConstants.IOMMU_IOAS_MAP_FIXED_IOVA;
    static final int MAP_WRITEABLE = UapiConstants.IOMMU_IOAS_MAP_WRITEABLE;
    static final int MAP_READABLE = UapiConstants.IOMMU_IOAS_MAP_READABLE;
    private static final int MAP_FLAGS_ALL = MAP_FIXED_IOVA | MAP_WRITEABLE | MAP_READABLE;
    private static final long ULONG_MAX = -1L;

    // Offsets of the hot-path structs, looked up once rather than by name on every call.
    private static final int MAP_FLAGS = IOMMU_IOAS_MAP.offset("flags");
    private static final int MAP_IOAS_ID = IOMMU_IOAS_MAP.offset("ioas_id");
    private static final int MAP_RESERVED = IOMMU_IOAS_MAP.offset("__reserved");
    private static final int MAP_USER_VA = IOMMU_IOAS_MAP.offset("user_va");
    private static final int MAP_LENGTH = IOMMU_IOAS_MAP.offset("length");
    private static final int MAP_IOVA = IOMMU_IOAS_MAP.offset("iova");
    private static final int UNMAP_IOAS_ID = IOMMU_IOAS_UNMAP.offset("ioas_id");
    private static final int UNMAP_IOVA = IOMMU_IOAS_UNMAP.offset("iova");
    private static final int UNMAP_LENGTH = IOMMU_IOAS_UNMAP.offset("length");

    static long alloc(Ucmd u) {
        if (u.u32(IOMMU_IOAS_ALLOC.offset("flags")) != 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "flags");
        }
        ObjectTable table = u.ctx.objects();
        int id = table.reserve();
        Ioas ioas = new Ioas(u.ctx);
        u.put32(IOMMU_IOAS_ALLOC.offset("out_ioas_id"), id);
        try {
            u.respond();
        } catch (RuntimeException e) {
            table.abort(id);
            throw e;
        }
        table.finalize(id, ioas);
        return 0;
    }

    private static Ioas ioas(Ucmd u, int id) {
        return u.ctx.objects().get(id, Ioas.class);
    }

    static long iovaRanges(Ucmd u) {
        if (u.u32(IOMMU_IOAS_IOVA_RANGES.offset("__reserved")) != 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "__reserved");
        }
        Ioas ioas = ioas(u, u.u32(IOMMU_IOAS_IOVA_RANGES.offset("ioas_id")));
        int numOff = IOMMU_IOAS_IOVA_RANGES.offset("num_iovas");
        long max = Integer.toUnsignedLong(u.u32(numOff));
        long ranges = u.u64(IOMMU_IOAS_IOVA_RANGES.offset("allowed_iovas"));
        u.put64(IOMMU_IOAS_IOVA_RANGES.offset("out_iova_alignment"), ioas.iopt().iovaAlignment());
        int n = 0;
        byte[] elm = new byte[IOMMU_IOVA_RANGE.size()];
        for (long[] r : ioas.iopt().usableRanges()) {
            if (n < max) {
                java.nio.ByteBuffer.wrap(elm).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(0, r[0]).putLong(8, r[1]);
                u.memory().write(ranges + (long) n * elm.length, elm, 0, elm.length);
            }
            n++;
        }
        u.put32(numOff, n);
        u.respond();
        if (n > max) {
            throw new IommufdException(Errno.EMSGSIZE, "more ranges than room");
        }
        return 0;
    }

    static long allowIovas(Ucmd u) {
        if (u.u32(IOMMU_IOAS_ALLOW_IOVAS.offset("__reserved")) != 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "__reserved");
        }
        Ioas ioas = ioas(u, u.u32(IOMMU_IOAS_ALLOW_IOVAS.offset("ioas_id")));
        long num = Integer.toUnsignedLong(u.u32(IOMMU_IOAS_ALLOW_IOVAS.offset("num_iovas")));
        long ptr = u.u64(IOMMU_IOAS_ALLOW_IOVAS.offset("allowed_iovas"));
        List<long[]> ranges = new ArrayList<>();
        for (long i = 0; i < num; i++) {
            long start = u.memory().readLong(ptr + i * 16);
            long last = u.memory().readLong(ptr + i * 16 + 8);
            if (Long.compareUnsigned(start, last) >= 0) {
                throw new IommufdException(Errno.EINVAL, "start >= last");
            }
            for (long[] r : ranges) {
                if (Long.compareUnsigned(r[0], last) <= 0 && Long.compareUnsigned(r[1], start) >= 0) {
                    throw new IommufdException(Errno.EINVAL, "allowed ranges overlap");
                }
            }
            ranges.add(new long[] {start, last});
        }
        ioas.iopt().setAllowed(ranges);
        return 0;
    }

    static int iommuProt(int mapFlags) {
        int prot = IommuDomain.IOMMU_CACHE;
        if ((mapFlags & MAP_WRITEABLE) != 0) {
            prot |= IommuDomain.IOMMU_WRITE;
        }
        if ((mapFlags & MAP_READABLE) != 0) {
            prot |= IommuDomain.IOMMU_READ;
        }
        return prot;
    }

    static long map(Ucmd u) {
        int flags = u.u32(MAP_FLAGS);
        if ((flags & ~MAP_FLAGS_ALL) != 0 || u.u32(MAP_RESERVED) != 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "flags");
        }
        long iova = u.u64(MAP_IOVA);
        long length = u.u64(MAP_LENGTH);
        if (iova == ULONG_MAX || length == ULONG_MAX) {
            throw new IommufdException(Errno.EOVERFLOW, "iova or length");
        }
        if ((flags & (MAP_WRITEABLE | MAP_READABLE)) == 0) {
            throw new IommufdException(Errno.EINVAL, "neither readable nor writeable");
        }
        Ioas ioas = ioas(u, u.u32(MAP_IOAS_ID));
        long userVa = u.u64(MAP_USER_VA);
        long result = ioas.iopt().mapUser(u.caller, userVa, length, iova, (flags & MAP_FIXED_IOVA) != 0,
                iommuProt(flags), u.ctx.accountMm());
        u.put64(MAP_IOVA, result);
        // As in 6.12, a failure to write the answer leaves the mapping in place.
        u.respond();
        return 0;
    }

    static long copy(Ucmd u) {
        int flags = u.u32(IOMMU_IOAS_COPY.offset("flags"));
        if ((flags & ~MAP_FLAGS_ALL) != 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "flags");
        }
        long length = u.u64(IOMMU_IOAS_COPY.offset("length"));
        long srcIova = u.u64(IOMMU_IOAS_COPY.offset("src_iova"));
        long dstIova = u.u64(IOMMU_IOAS_COPY.offset("dst_iova"));
        if (length == ULONG_MAX || srcIova == ULONG_MAX || dstIova == ULONG_MAX) {
            throw new IommufdException(Errno.EOVERFLOW, "u64 field");
        }
        if ((flags & (MAP_WRITEABLE | MAP_READABLE)) == 0) {
            throw new IommufdException(Errno.EINVAL, "neither readable nor writeable");
        }
        Ioas src = ioas(u, u.u32(IOMMU_IOAS_COPY.offset("src_ioas_id")));
        // The source pages are looked up before the destination IOAS, as the kernel orders it.
        List<IoPagetable.PagesSlice> pages = src.iopt().getPages(srcIova, length);
        Ioas dst = ioas(u, u.u32(IOMMU_IOAS_COPY.offset("dst_ioas_id")));
        long result = dst.iopt().mapSlices(pages, length, dstIova, (flags & MAP_FIXED_IOVA) != 0, iommuProt(flags));
        u.put64(IOMMU_IOAS_COPY.offset("dst_iova"), result);
        u.respond();
        return 0;
    }

    static long unmap(Ucmd u) {
        Ioas ioas = ioas(u, u.u32(UNMAP_IOAS_ID));
        long iova = u.u64(UNMAP_IOVA);
        long length = u.u64(UNMAP_LENGTH);
        long unmapped;
        if (iova == 0 && length == -1L) {
            unmapped = ioas.iopt().unmapAll();
        } else {
            if (iova == ULONG_MAX || length == ULONG_MAX) {
                throw new IommufdException(Errno.EOVERFLOW, "iova or length");
            }
            unmapped = ioas.iopt().unmap(iova, length);
            if (unmapped == 0) {
                throw new IommufdException(Errno.ENOENT, "nothing mapped there");
            }
        }
        u.put64(UNMAP_LENGTH, unmapped);
        u.respond();
        return 0;
    }

    static long option(Ucmd u) {
        if (u.u16(IOMMU_OPTION.offset("__reserved")) != 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "__reserved");
        }
        int option = u.u32(IOMMU_OPTION.offset("option_id"));
        int op = u.u16(IOMMU_OPTION.offset("op"));
        int objectId = u.u32(IOMMU_OPTION.offset("object_id"));
        int valOff = IOMMU_OPTION.offset("val64");
        long val = u.u64(valOff);
        switch (option) {
            case UapiConstants.IOMMU_OPTION_RLIMIT_MODE -> {
                if (objectId != 0) {
                    throw new IommufdException(Errno.EOPNOTSUPP, "object_id");
                }
                if (op == UapiConstants.IOMMU_OPTION_OP_GET) {
                    u.put64(valOff, u.ctx.accountMm() ? 1 : 0);
                } else if (op == UapiConstants.IOMMU_OPTION_OP_SET) {
                    if (!u.caller.capable(UserProcess.Capability.CAP_SYS_RESOURCE)) {
                        throw new IommufdException(Errno.EPERM, "needs CAP_SYS_RESOURCE");
                    }
                    if (!u.ctx.objects().isEmpty()) {
                        throw new IommufdException(Errno.EBUSY, "objects exist");
                    }
                    if (val != 0 && val != 1) {
                        throw new IommufdException(Errno.EINVAL, "val64");
                    }
                    u.ctx.setAccountMm(val == 1);
                } else {
                    throw new IommufdException(Errno.EOPNOTSUPP, "op");
                }
            }
            case UapiConstants.IOMMU_OPTION_HUGE_PAGES -> {
                Ioas ioas = ioas(u, objectId);
                if (op == UapiConstants.IOMMU_OPTION_OP_GET) {
                    u.put64(valOff, ioas.iopt().largePagesDisabled() ? 0 : 1);
                } else if (op == UapiConstants.IOMMU_OPTION_OP_SET) {
                    if (val == 0) {
                        ioas.iopt().disableLargePages();
                    } else if (val == 1) {
                        ioas.iopt().enableLargePages();
                    } else {
                        throw new IommufdException(Errno.EINVAL, "val64");
                    }
                } else {
                    throw new IommufdException(Errno.EOPNOTSUPP, "op");
                }
            }
            default -> throw new IommufdException(Errno.EOPNOTSUPP, "option_id");
        }
        u.respondField(valOff, 8);
        return 0;
    }
}
