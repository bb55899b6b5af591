package io.uiommu.uapi;

import io.uiommu.iommu.StaleTranslationAuditor;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdContext;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.mem.UserMemory;
import io.uiommu.proc.UserProcess;

import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The one entry of the uAPI (iommufd_fops_ioctl): an ioctl request code and its argument as a C
 * program passes them — a user pointer to the struct, or an integer for the VFIO commands that
 * take one. Applies the kernel's size rules (EINVAL below the minimum, E2BIG for non-zero bytes
 * past the struct the kernel knows, a short struct zero-filled), runs the handler under the
 * context lock and returns the result or minus the errno. No exception escapes: a bug is EIO and
 * a log line with the stack.
 */
public final class Dispatcher {
    private static final Logger LOG = Logger.getLogger(Dispatcher.class.getName());

    private static final int IOMMUFD_CMD_BASE = 0x80;
    /** IOMMU_TEST_CMD closes the 6.12 table (built with CONFIG_IOMMUFD_TEST). */
    private static final int LAST_TABLE_NR = 0xa0;

    private Dispatcher() {
    }

    public static long ioctl(IommufdContext ctx, UserProcess caller, int request, long arg) {
        try {
            Ioctl op = Ioctl.ofCode(request);
            int nr = request & 0xff;
            if (nr < IOMMUFD_CMD_BASE || nr > LAST_TABLE_NR) {
                // Outside the iommufd table: the VFIO compatibility handler, which knows exact codes only.
                if (op == null || !op.isVfio()) {
                    return -Errno.ENOTTY.value();
                }
                synchronized (ctx) {
                    StaleTranslationAuditor auditor = ctx.iommu().auditor();
                    if (auditor.enabled()) {
                        auditor.setOperation(op.label());
                    }
                    return VfioCompat.ioctl(ctx, caller, op, arg);
                }
            }
            // Inside the table the kernel reads the size first, then matches the exact code.
            int size = caller.memory().readInt(arg);
            if (op == null || op.isVfio()) {
                return -Errno.ENOTTY.value();
            }
            synchronized (ctx) {
                return dispatch(ctx, caller, op, arg, size);
            }
        } catch (IommufdException e) {
            if (LOG.isLoggable(Level.FINE)) {
                LOG.fine("ioctl 0x" + Integer.toHexString(request) + ": " + e.errno() + " (" + e.getMessage() + ")");
            }
            return -e.errno().value();
        } catch (RuntimeException | StackOverflowError e) {
            LOG.log(Level.SEVERE, "uiommu bug in ioctl 0x" + Integer.toHexString(request), e);
            return -Errno.EIO.value();
        }
    }

    private static long dispatch(IommufdContext ctx, UserProcess caller, Ioctl op, long arg, int size) {
        UserMemory mem = caller.memory();
        if (Integer.compareUnsigned(size, op.minSize()) < 0) {
            throw new IommufdException(Errno.EINVAL, "size " + size + " below " + op.minSize());
        }
        int kernelSize = op.struct().size();
        byte[] cmd = new byte[kernelSize];
        mem.read(arg, cmd, 0, Math.min(size, kernelSize));
        if (Integer.compareUnsigned(size, kernelSize) > 0) {
            checkZeroTail(mem, arg + kernelSize, Integer.toUnsignedLong(size) - kernelSize);
        }
        Ucmd u = new Ucmd(ctx, caller, arg, size, cmd);
        StaleTranslationAuditor auditor = ctx.iommu().auditor();
        if (auditor.enabled()) {
            auditor.setOperation(op.label());
        }
        return switch (op) {
            case IOMMU_DESTROY -> ObjectIoctls.destroy(u);
            case IOMMU_IOAS_ALLOC -> IoasIoctls.alloc(u);
            case IOMMU_IOAS_ALLOW_IOVAS -> IoasIoctls.allowIovas(u);
            case IOMMU_IOAS_COPY -> IoasIoctls.copy(u);
            case IOMMU_IOAS_IOVA_RANGES -> IoasIoctls.iovaRanges(u);
            case IOMMU_IOAS_MAP -> IoasIoctls.map(u);
            case IOMMU_IOAS_UNMAP -> IoasIoctls.unmap(u);
            case IOMMU_OPTION -> IoasIoctls.option(u);
            case IOMMU_VFIO_IOAS -> VfioCompat.vfioIoas(u);
            case IOMMU_HWPT_ALLOC -> HwptIoctls.alloc(u);
            case IOMMU_GET_HW_INFO -> HwptIoctls.getHwInfo(u);
            case IOMMU_HWPT_SET_DIRTY_TRACKING -> HwptIoctls.setDirtyTracking(u);
            case IOMMU_HWPT_GET_DIRTY_BITMAP -> HwptIoctls.getDirtyBitmap(u);
            case IOMMU_HWPT_INVALIDATE -> HwptIoctls.invalidate(u);
            case IOMMU_FAULT_QUEUE_ALLOC -> ObjectIoctls.faultQueueAlloc(u);
            case IOMMU_VIOMMU_ALLOC -> ViommuIoctls.viommuAlloc(u);
            case IOMMU_VDEVICE_ALLOC -> ViommuIoctls.vdeviceAlloc(u);
            case IOMMU_VEVENTQ_ALLOC -> ViommuIoctls.veventqAlloc(u);
            case IOMMU_HW_QUEUE_ALLOC -> ViommuIoctls.hwQueueAlloc(u);
            case IOMMU_TEST_CMD -> TestCmd.handle(u);
            default -> throw new IommufdException(Errno.ENOTTY, "not an iommufd command");
        };
    }

    /** copy_struct_from_user's rule: E2BIG if any byte past the struct the kernel knows is non-zero. */
    public static void checkZeroTail(UserMemory memory, long va, long length) {
        byte[] buf = new byte[(int) Math.min(length, 4096)];
        while (length > 0) {
            int n = (int) Math.min(length, buf.length);
            memory.read(va, buf, 0, n);
            for (int i = 0; i < n; i++) {
                if (buf[i] != 0) {
                    throw new IommufdException(Errno.E2BIG, "non-zero trailing bytes");
                }
            }
            va += n;
            length -= n;
        }
    }
}
