package io.uiommu.vfio;

import io.uiommu.device.DmaEngine;
import io.uiommu.device.DmaEngineRegs;
import io.uiommu.device.PciRegs;
import io.uiommu.iommufd.Device;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdContext;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.mem.UserMemory;
import io.uiommu.proc.MmapRegion;
import io.uiommu.proc.OpenFile;
import io.uiommu.proc.UserProcess;
import io.uiommu.uapi.DevIommu;
import io.uiommu.uapi.Dispatcher;
import io.uiommu.uapi.Ioctl;
import io.uiommu.uapi.UapiStruct;
import io.uiommu.uapi.VfioStructs;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.logging.Level;
import java.util.logging.Logger;

import static io.uiommu.uapi.UapiConstants.*;

/**
 * An open VFIO device cdev, /dev/vfio/devices/vfioN (struct vfio_device_file with vfio-pci behind
 * it): VFIO_DEVICE_BIND_IOMMUFD binds the function to an iommufd and grants access; until then
 * every other ioctl, read and write is EINVAL. Then ATTACH/DETACH_IOMMUFD_PT (RID or, with the
 * PASID flag, one PASID), GET_INFO, GET_REGION_INFO, GET_IRQ_INFO, SET_IRQS, RESET and FEATURE
 * ({@link VfioDeviceFeature}) act as drivers/vfio (device_cdev.c, vfio_main.c, pci/vfio_pci_core.c,
 * pci/vfio_pci_intrs.c) does, with its minsz/argsz rules and errno; read and write at
 * {@code pos = index << 40 | offset} reach the config space (virtualised, {@link VfioPciConfig})
 * and BAR0; mmap maps BAR0's data window, the one sparse mmap area. Release unbinds (a mapping
 * holds the file, as a VMA does). Never throws out of ioctl, read or write: failures are minus
 * the errno, a bug is EIO and a log line.
 *
 * <p>Locking: the device's lock (the dev_set lock) around every operation, then the iommufd
 * context's lock for iommufd calls.
 */
public final class VfioDeviceFile extends OpenFile {
    private static final Logger LOG = Logger.getLogger(VfioDeviceFile.class.getName());
    private static final long OFFSET_MASK = (1L << VFIO_PCI_OFFSET_SHIFT) - 1;

    private final VfioPciDevice vdev;
    private boolean accessGranted;
    private IommufdContext ctx;
    private Device idev;

    public VfioDeviceFile(VfioPciDevice vdev) {
        this.vdev = vdev;
    }

    /** The iommufd device object of the bind, or null before it. */
    public Device boundDevice() {
        synchronized (vdev) {
            return idev;
        }
    }

    public DmaEngine engine() {
        return vdev.engine();
    }

    @Override
    public long ioctl(UserProcess caller, int request, long arg) {
        try {
            Ioctl op = Ioctl.ofCode(request);
            synchronized (vdev) {
                if (op == Ioctl.VFIO_DEVICE_BIND_IOMMUFD) {
                    return bind(caller, arg);
                }
                if (!accessGranted) {
                    return -Errno.EINVAL.value();
                }
                vdev.power().resume(); // vfio_device_pm_runtime_get
                if (op == null) {
                    return -Errno.ENOTTY.value();
                }
                return switch (op) {
                    case VFIO_DEVICE_ATTACH_IOMMUFD_PT -> attach(caller.memory(), arg);
                    case VFIO_DEVICE_DETACH_IOMMUFD_PT -> detach(caller.memory(), arg);
                    case VFIO_DEVICE_GET_INFO -> getInfo(caller.memory(), arg);
                    case VFIO_DEVICE_GET_REGION_INFO -> getRegionInfo(caller.memory(), arg);
                    case VFIO_DEVICE_GET_IRQ_INFO -> getIrqInfo(caller.memory(), arg);
                    case VFIO_DEVICE_SET_IRQS -> setIrqs(caller, arg);
                    case VFIO_DEVICE_RESET -> reset();
                    case VFIO_DEVICE_FEATURE -> VfioDeviceFeature.ioctl(vdev, caller, arg);
                    // Hot reset, IOEVENTFD and the rest: not implemented (vfio-pci's default).
                    default -> -Errno.ENOTTY.value();
                };
            }
        } catch (IommufdException e) {
            return -e.errno().value();
        } catch (RuntimeException | StackOverflowError e) {
            LOG.log(Level.SEVERE, "uiommu bug in VFIO ioctl 0x" + Integer.toHexString(request), e);
            return -Errno.EIO.value();
        }
    }

    // ---- argument helpers ----

    private static ByteBuffer copyFromUser(UserMemory memory, long arg, int length) {
        byte[] b = new byte[length];
        memory.read(arg, b, 0, length);
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void copyToUser(UserMemory memory, long arg, ByteBuffer b, int length) {
        memory.write(arg, b.array(), 0, length);
    }

    private static int off(UapiStruct s, String field) {
        return s.offset(field);
    }

    // ---- BIND / ATTACH / DETACH ----

    private static final UapiStruct BIND = VfioStructs.VFIO_DEVICE_BIND_IOMMUFD;

    /** vfio_df_ioctl_bind_iommufd (with the 6.17 token rules: the engine is neither a PF nor a VF). */
    private long bind(UserProcess caller, long arg) {
        UserMemory memory = caller.memory();
        int minsz = BIND.offsetOfEnd("out_devid");
        int argsz = copyFromUser(memory, arg, 4).getInt(0);
        if (Integer.compareUnsigned(argsz, minsz) < 0) {
            return -Errno.EINVAL.value();
        }
        // copy_struct_from_user: the known part, zeros past it, E2BIG for non-zero bytes past it.
        ByteBuffer b = ByteBuffer.allocate(BIND.size()).order(ByteOrder.LITTLE_ENDIAN);
        memory.read(arg, b.array(), 0, Integer.compareUnsigned(argsz, BIND.size()) < 0 ? argsz : BIND.size());
        if (Integer.compareUnsigned(argsz, BIND.size()) > 0) {
            Dispatcher.checkZeroTail(memory, arg + BIND.size(), Integer.toUnsignedLong(argsz) - BIND.size());
        }
        int flags = b.getInt(off(BIND, "flags"));
        int iommufd = b.getInt(off(BIND, "iommufd"));
        if (iommufd < 0 || (flags & ~VFIO_DEVICE_BIND_FLAG_TOKEN) != 0) {
            return -Errno.EINVAL.value();
        }
        if (accessGranted) {
            return -Errno.EINVAL.value(); // one file binds once
        }
        if ((flags & VFIO_DEVICE_BIND_FLAG_TOKEN) != 0) {
            // The token is read, then refused: only SR-IOV PFs and VFs take one.
            copyFromUser(memory, b.getLong(off(BIND, "token_uuid_ptr")), 16);
            return -Errno.EINVAL.value();
        }
        IommufdContext c = iommufdFromFd(caller, iommufd);
        if (vdev.owner() != null) {
            return -Errno.EINVAL.value(); // vfio_df_open: a cdev device is opened once
        }
        c.getFile();
        Device d;
        try {
            synchronized (c) {
                d = Device.bind(c, vdev.engine().iommuDevice());
            }
        } catch (RuntimeException e) {
            c.putFile();
            throw e;
        }
        vdev.open(this);
        b.putInt(off(BIND, "out_devid"), d.id());
        try {
            memory.write(arg + off(BIND, "out_devid"), b.array(), off(BIND, "out_devid"), 4);
        } catch (IommufdException e) {
            vdev.close();
            synchronized (c) {
                d.unbind();
            }
            c.putFile();
            throw e;
        }
        ctx = c;
        idev = d;
        accessGranted = true;
        return 0;
    }

    /** iommufd_ctx_from_fd: EBADF for a closed fd, EBADFD for a file that is not an iommufd. */
    private static IommufdContext iommufdFromFd(UserProcess caller, int fd) {
        caller.fds().get(fd);
        IommufdContext c = DevIommu.contextOf(caller, fd);
        if (c == null) {
            throw new IommufdException(Errno.EBADFD, "fd " + fd + " is not an iommufd");
        }
        return c;
    }

    private static final UapiStruct ATTACH = VfioStructs.VFIO_DEVICE_ATTACH_IOMMUFD_PT;

    /** vfio_df_ioctl_attach_pt: attaching what is attached replaces it. */
    private long attach(UserMemory memory, long arg) {
        int minsz = ATTACH.offsetOfEnd("pt_id");
        ByteBuffer b = copyFromUser(memory, arg, minsz);
        int argsz = b.getInt(0);
        int flags = b.getInt(off(ATTACH, "flags"));
        if (Integer.compareUnsigned(argsz, minsz) < 0 || (flags & ~VFIO_DEVICE_ATTACH_PASID) != 0) {
            return -Errno.EINVAL.value();
        }
        boolean pasidAttach = (flags & VFIO_DEVICE_ATTACH_PASID) != 0;
        int pasid = 0;
        if (pasidAttach) {
            if (Integer.compareUnsigned(argsz, ATTACH.offsetOfEnd("pasid")) < 0) {
                return -Errno.EINVAL.value();
            }
            pasid = copyFromUser(memory, arg + off(ATTACH, "pasid"), 4).getInt(0);
        }
        int ptId = b.getInt(off(ATTACH, "pt_id"));
        int hwptId;
        synchronized (ctx) {
            if (pasidAttach) {
                hwptId = idev.pasidHwpt(pasid) != null ? idev.replacePasid(pasid, ptId) : idev.attachPasid(pasid, ptId);
            } else {
                hwptId = idev.hwpt() != null ? idev.replace(ptId) : idev.attach(ptId);
            }
        }
        b.putInt(off(ATTACH, "pt_id"), hwptId);
        try {
            memory.write(arg + off(ATTACH, "pt_id"), b.array(), off(ATTACH, "pt_id"), 4);
        } catch (IommufdException e) {
            // vfio undoes with detach_ioas, the RID's detach, whichever was attached.
            synchronized (ctx) {
                if (idev.hwpt() != null) {
                    idev.detach();
                }
            }
            throw e;
        }
        return 0;
    }

    private static final UapiStruct DETACH = VfioStructs.VFIO_DEVICE_DETACH_IOMMUFD_PT;

    /** vfio_df_ioctl_detach_pt: nothing attached is not an error. */
    private long detach(UserMemory memory, long arg) {
        int minsz = DETACH.offsetOfEnd("flags");
        ByteBuffer b = copyFromUser(memory, arg, minsz);
        int argsz = b.getInt(0);
        int flags = b.getInt(off(DETACH, "flags"));
        if (Integer.compareUnsigned(argsz, minsz) < 0 || (flags & ~VFIO_DEVICE_DETACH_PASID) != 0) {
            return -Errno.EINVAL.value();
        }
        if ((flags & VFIO_DEVICE_DETACH_PASID) != 0) {
            if (Integer.compareUnsigned(argsz, DETACH.offsetOfEnd("pasid")) < 0) {
                return -Errno.EINVAL.value();
            }
            int pasid = copyFromUser(memory, arg + off(DETACH, "pasid"), 4).getInt(0);
            synchronized (ctx) {
                idev.detachPasid(pasid);
            }
        } else {
            synchronized (ctx) {
                if (idev.hwpt() != null) {
                    idev.detach();
                }
            }
        }
        return 0;
    }

    // ---- INFO ----

    private static final UapiStruct INFO = VfioStructs.VFIO_DEVICE_INFO;

    /** vfio_pci_ioctl_get_info: no capability chain (the zPCI and AtomicOps ones do not apply). */
    private long getInfo(UserMemory memory, long arg) {
        int minsz = INFO.offsetOfEnd("num_irqs");
        ByteBuffer in = copyFromUser(memory, arg, minsz);
        int argsz = in.getInt(0);
        if (Integer.compareUnsigned(argsz, minsz) < 0) {
            return -Errno.EINVAL.value();
        }
        ByteBuffer b = ByteBuffer.allocate(INFO.size()).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(off(INFO, "argsz"), argsz);
        b.putInt(off(INFO, "flags"), VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET);
        b.putInt(off(INFO, "num_regions"), VFIO_PCI_NUM_REGIONS);
        b.putInt(off(INFO, "num_irqs"), VFIO_PCI_NUM_IRQS);
        copyToUser(memory, arg, b, (int) Math.min(Integer.toUnsignedLong(argsz), INFO.size()));
        return 0;
    }

    private static final UapiStruct REGION = VfioStructs.VFIO_REGION_INFO;
    private static final UapiStruct SPARSE = VfioStructs.VFIO_REGION_INFO_CAP_SPARSE_MMAP;
    private static final UapiStruct AREA = VfioStructs.VFIO_REGION_SPARSE_MMAP_AREA;

    /**
     * vfio_pci_ioctl_get_region_info: config 4 KiB, BAR0 with its mmap-able data window as a sparse
     * mmap capability, empty BARs and ROM, no VGA. A capability chain goes after the struct when
     * argsz has room for it; otherwise argsz comes back as the size needed and cap_offset as 0.
     */
    private long getRegionInfo(UserMemory memory, long arg) {
        int minsz = REGION.offsetOfEnd("offset");
        ByteBuffer b = copyFromUser(memory, arg, minsz);
        int argsz = b.getInt(off(REGION, "argsz"));
        if (Integer.compareUnsigned(argsz, minsz) < 0) {
            return -Errno.EINVAL.value();
        }
        int index = b.getInt(off(REGION, "index"));
        long size;
        int flags;
        VfioInfoCaps caps = new VfioInfoCaps();
        if (index == VFIO_PCI_CONFIG_REGION_INDEX) {
            size = vdev.engine().configSize();
            flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
        } else if (index >= VFIO_PCI_BAR0_REGION_INDEX && index <= VFIO_PCI_BAR5_REGION_INDEX) {
            size = vdev.engine().barSize(index);
            flags = size == 0 ? 0 : VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
            if (size != 0 && index == VFIO_PCI_BAR0_REGION_INDEX) {
                flags |= VFIO_REGION_INFO_FLAG_MMAP;
                caps.add(VFIO_REGION_INFO_CAP_SPARSE_MMAP, 1, sparseMmapBody());
            }
        } else if (index == VFIO_PCI_ROM_REGION_INDEX) {
            size = 0;
            flags = 0;
        } else {
            return -Errno.EINVAL.value(); // no VGA, no device-specific regions
        }
        if (caps.size() > 0) {
            flags |= VFIO_REGION_INFO_FLAG_CAPS;
            long needed = (long) REGION.size() + caps.size();
            if (Integer.toUnsignedLong(argsz) < needed) {
                b.putInt(off(REGION, "argsz"), (int) needed);
                b.putInt(off(REGION, "cap_offset"), 0);
            } else {
                byte[] chain = caps.shifted(REGION.size());
                memory.write(arg + REGION.size(), chain, 0, chain.length);
                b.putInt(off(REGION, "cap_offset"), REGION.size());
            }
        }
        b.putInt(off(REGION, "flags"), flags);
        b.putLong(off(REGION, "size"), size);
        b.putLong(off(REGION, "offset"), (long) index << VFIO_PCI_OFFSET_SHIFT);
        copyToUser(memory, arg, b, minsz);
        return 0;
    }

    /** The body of BAR0's VFIO_REGION_INFO_CAP_SPARSE_MMAP (after its header): one area, the data window. */
    private static byte[] sparseMmapBody() {
        int header = SPARSE.offset("nr_areas");
        ByteBuffer body = ByteBuffer.allocate(SPARSE.size() - header + AREA.size()).order(ByteOrder.LITTLE_ENDIAN);
        body.putInt(SPARSE.offset("nr_areas") - header, 1);
        int area = SPARSE.size() - header;
        body.putLong(area + AREA.offset("offset"), DmaEngineRegs.DATA_WINDOW);
        body.putLong(area + AREA.offset("size"), DmaEngineRegs.DATA_WINDOW_SIZE);
        return body.array();
    }

    private static final UapiStruct IRQ_INFO = VfioStructs.VFIO_IRQ_INFO;

    /** vfio_pci_ioctl_get_irq_info. */
    private long getIrqInfo(UserMemory memory, long arg) {
        int minsz = IRQ_INFO.offsetOfEnd("count");
        ByteBuffer b = copyFromUser(memory, arg, minsz);
        int index = b.getInt(off(IRQ_INFO, "index"));
        if (Integer.compareUnsigned(b.getInt(0), minsz) < 0 || Integer.compareUnsigned(index, VFIO_PCI_NUM_IRQS) >= 0) {
            return -Errno.EINVAL.value();
        }
        int flags = VFIO_IRQ_INFO_EVENTFD;
        if (index == VFIO_PCI_INTX_IRQ_INDEX) {
            flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
        } else {
            flags |= VFIO_IRQ_INFO_NORESIZE; // no dynamic MSI-X
        }
        b.putInt(off(IRQ_INFO, "flags"), flags);
        b.putInt(off(IRQ_INFO, "count"), vdev.irqs().count(index));
        copyToUser(memory, arg, b, minsz);
        return 0;
    }

    private static final UapiStruct IRQ_SET = VfioStructs.VFIO_IRQ_SET;

    /** vfio_pci_ioctl_set_irqs with vfio_set_irqs_validate_and_prepare. */
    private long setIrqs(UserProcess caller, long arg) {
        int minsz = IRQ_SET.offsetOfEnd("count");
        ByteBuffer b = copyFromUser(caller.memory(), arg, minsz);
        int argsz = b.getInt(0);
        int flags = b.getInt(off(IRQ_SET, "flags"));
        int index = b.getInt(off(IRQ_SET, "index"));
        int start = b.getInt(off(IRQ_SET, "start"));
        int count = b.getInt(off(IRQ_SET, "count"));
        int max = vdev.irqs().count(index);
        if (Integer.compareUnsigned(argsz, minsz) < 0 || Integer.compareUnsigned(index, VFIO_PCI_NUM_IRQS) >= 0
                || Integer.toUnsignedLong(count) >= 0xffff_ffffL - Integer.toUnsignedLong(start)
                || (flags & ~(VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK)) != 0) {
            return -Errno.EINVAL.value();
        }
        if (Integer.compareUnsigned(start, max) >= 0
                || Integer.toUnsignedLong(start) + Integer.toUnsignedLong(count) > max) {
            return -Errno.EINVAL.value();
        }
        int elementSize = switch (flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
            case VFIO_IRQ_SET_DATA_NONE -> 0;
            case VFIO_IRQ_SET_DATA_BOOL -> 1;
            case VFIO_IRQ_SET_DATA_EVENTFD -> 4;
            default -> -1;
        };
        if (elementSize < 0) {
            return -Errno.EINVAL.value();
        }
        byte[] data = null;
        if (elementSize > 0) {
            long dataSize = Integer.toUnsignedLong(count) * elementSize;
            if (Integer.toUnsignedLong(argsz) - minsz < dataSize) {
                return -Errno.EINVAL.value();
            }
            data = new byte[(int) dataSize];
            caller.memory().read(arg + minsz, data, 0, data.length);
        }
        vdev.irqs().set(caller, flags, index, start, count, data);
        return 0;
    }

    /** vfio_pci_ioctl_reset: pci_reset_function (the function reset with its config state kept). */
    private long reset() {
        vdev.engine().resetFunction();
        return 0;
    }

    // ---- regions ----

    @Override
    public long read(UserProcess caller, long buf, long count, long pos) {
        return rw(caller, buf, count, pos, false);
    }

    @Override
    public long write(UserProcess caller, long buf, long count, long pos) {
        return rw(caller, buf, count, pos, true);
    }

    /** vfio_pci_rw: the region is pos >> 40. */
    private long rw(UserProcess caller, long buf, long count, long pos, boolean isWrite) {
        try {
            synchronized (vdev) {
                if (!accessGranted) {
                    return -Errno.EINVAL.value();
                }
                long index = pos >>> VFIO_PCI_OFFSET_SHIFT;
                if (pos < 0 || index >= VFIO_PCI_NUM_REGIONS) {
                    return -Errno.EINVAL.value();
                }
                vdev.power().resume(); // pm_runtime_resume_and_get
                long off = pos & OFFSET_MASK;
                if (index == VFIO_PCI_CONFIG_REGION_INDEX) {
                    return vdev.config().rw(caller.memory(), buf, count, off, isWrite);
                }
                if (index <= VFIO_PCI_BAR5_REGION_INDEX) {
                    return barRw(caller.memory(), (int) index, buf, count, off, isWrite);
                }
                // No ROM (a write to it is EINVAL anyway) and no VGA.
                return -Errno.EINVAL.value();
            }
        } catch (IommufdException e) {
            return -e.errno().value();
        } catch (RuntimeException | StackOverflowError e) {
            LOG.log(Level.SEVERE, "uiommu bug in VFIO region access at 0x" + Long.toHexString(pos), e);
            return -Errno.EIO.value();
        }
    }

    /**
     * vfio_pci_bar_rw: EINVAL past the BAR, the count cut at its end, accesses of 8, 4, 2 or 1
     * bytes as alignment allows, EIO while memory decode is off.
     */
    private long barRw(UserMemory memory, int bar, long buf, long count, long off, boolean isWrite) {
        DmaEngine engine = vdev.engine();
        long end = engine.barSize(bar);
        if (off >= end) {
            return -Errno.EINVAL.value();
        }
        count = Math.min(count, end - off);
        byte[] b = new byte[8];
        long done = 0;
        while (done < count) {
            long at = off + done;
            long left = count - done;
            int n = left >= 8 && (at & 7) == 0 ? 8 : left >= 4 && (at & 3) == 0 ? 4 : left >= 2 && (at & 1) == 0 ? 2 : 1;
            if ((engine.configRead(PciRegs.PCI_COMMAND, 2) & PciRegs.PCI_COMMAND_MEMORY) == 0) {
                return -Errno.EIO.value();
            }
            if (isWrite) {
                memory.read(buf + done, b, 0, n);
                long v = 0;
                for (int i = n - 1; i >= 0; i--) {
                    v = v << 8 | b[i] & 0xff;
                }
                engine.mmioWrite(bar, at, n, v);
            } else {
                long v = engine.mmioRead(bar, at, n);
                for (int i = 0; i < n; i++) {
                    b[i] = (byte) (v >>> 8 * i);
                }
                memory.write(buf + done, b, 0, n);
            }
            done += n;
        }
        return done;
    }

    // ---- mmap ----

    /** Bits of a page offset below the region index (VFIO_PCI_OFFSET_SHIFT - PAGE_SHIFT). */
    private static final int PGOFF_INDEX_SHIFT = VFIO_PCI_OFFSET_SHIFT - PhysicalMemory.PAGE_SHIFT;

    /**
     * vfio_pci_core_mmap for BAR0, whose only mmap-able part is the data window (the sparse area):
     * {@code pgoff} is (index << 40 | offset) >> PAGE_SHIFT. EINVAL before bind, for an index past the
     * regions, a private mapping, the ROM, config or VGA index, a BAR without mmap, a range past the
     * BAR, or a range that is not inside the window (the registers trap: they have no page to
     * map). The mapping holds the file until it is unmapped, as a VMA's vm_file does, and maps the
     * window's own frames: DMA, pread/pwrite and the mapping see one set of bytes, and a reset
     * zeroes them under the mapping.
     */
    @Override
    public MmapRegion mmap(UserProcess caller, long length, int prot, int flags, long pgoff) {
        synchronized (vdev) {
            if (!accessGranted) {
                throw new IommufdException(Errno.EINVAL, "not bound");
            }
            long index = pgoff >>> PGOFF_INDEX_SHIFT;
            if (index >= VFIO_PCI_NUM_REGIONS) {
                throw new IommufdException(Errno.EINVAL, "no region " + index);
            }
            int mapType = flags & MAP_TYPE;
            if (mapType != MAP_SHARED && mapType != MAP_SHARED_VALIDATE) {
                throw new IommufdException(Errno.EINVAL, "not a shared mapping");
            }
            // ROM, config and VGA never map; of the BARs only BAR0 exists.
            if (index != VFIO_PCI_BAR0_REGION_INDEX) {
                throw new IommufdException(Errno.EINVAL, "region " + index + " has no mmap");
            }
            long start = (pgoff & (1L << PGOFF_INDEX_SHIFT) - 1) << PhysicalMemory.PAGE_SHIFT;
            long barLength = vdev.engine().barSize((int) index) + PhysicalMemory.PAGE_SIZE - 1 & -PhysicalMemory.PAGE_SIZE;
            if (length <= 0 || start + length > barLength) {
                throw new IommufdException(Errno.EINVAL, "past the end of BAR" + index);
            }
            if (start < DmaEngineRegs.DATA_WINDOW || start + length > DmaEngineRegs.DATA_WINDOW + DmaEngineRegs.DATA_WINDOW_SIZE) {
                throw new IommufdException(Errno.EINVAL, "outside the sparse mmap area of BAR" + index);
            }
            int first = (int) ((start - DmaEngineRegs.DATA_WINDOW) >>> PhysicalMemory.PAGE_SHIFT);
            long[] pfns = new long[(int) (length >>> PhysicalMemory.PAGE_SHIFT)];
            for (int i = 0; i < pfns.length; i++) {
                pfns[i] = vdev.engine().dataWindowPfn(first + i);
            }
            get();
            return new MmapRegion(pfns, this::put);
        }
    }

    // ---- release ----

    /** vfio_df_unbind_iommufd: the device is disabled, its attachments dropped, the iommufd let go. */
    private void unbind() {
        synchronized (vdev) {
            if (!accessGranted) {
                return;
            }
            vdev.close();
            synchronized (ctx) {
                idev.unbind();
            }
            ctx.putFile();
            ctx = null;
            idev = null;
            accessGranted = false;
        }
    }

    @Override
    public String name() {
        return vdev.path();
    }

    @Override
    protected void release() {
        unbind();
    }
}
