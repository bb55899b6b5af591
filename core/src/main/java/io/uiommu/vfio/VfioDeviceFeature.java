package io.uiommu.vfio;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.mem.UserMemory;
import io.uiommu.proc.EventSignal;
import io.uiommu.proc.UserProcess;
import io.uiommu.uapi.UapiStruct;
import io.uiommu.uapi.VfioStructs;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static io.uiommu.uapi.UapiConstants.*;

/**
 * VFIO_DEVICE_FEATURE on a plain vfio-pci function (vfio_ioctl_device_feature, then
 * vfio_pci_core_ioctl_feature): the generic argsz and flag checks; migration and DMA logging
 * answer ENOTTY (vfio-pci has no migration or logging ops), the VF token ENOTTY (the engine is
 * not an SR-IOV PF), the low-power features work ({@link VfioPciPower}); any other feature,
 * BUS_MASTER (vfio-cdx's) included, is ENOTTY.
 *
 * <p>Locking: called under the device's lock (the device-set lock).
 */
final class VfioDeviceFeature {
    private static final UapiStruct FEATURE = VfioStructs.VFIO_DEVICE_FEATURE;
    private static final UapiStruct WAKEUP = VfioStructs.VFIO_DEVICE_LOW_POWER_ENTRY_WITH_WAKEUP;
    private static final int KNOWN_FLAGS = VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_GET
            | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PROBE;

    private VfioDeviceFeature() {
    }

    /** The ioctl: 0 or minus the errno (a probe that finds the feature is 0). */
    static long ioctl(VfioPciDevice vdev, UserProcess caller, long arg) {
        UserMemory memory = caller.memory();
        int minsz = FEATURE.offsetOfEnd("flags");
        byte[] head = new byte[minsz];
        memory.read(arg, head, 0, minsz);
        ByteBuffer b = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
        int argsz = b.getInt(FEATURE.offset("argsz"));
        int flags = b.getInt(FEATURE.offset("flags"));
        if (Integer.compareUnsigned(argsz, minsz) < 0 || (flags & ~KNOWN_FLAGS) != 0) {
            return -Errno.EINVAL.value();
        }
        // GET and SET exclude each other, except in a probe.
        if ((flags & VFIO_DEVICE_FEATURE_PROBE) == 0 && (flags & VFIO_DEVICE_FEATURE_GET) != 0
                && (flags & VFIO_DEVICE_FEATURE_SET) != 0) {
            return -Errno.EINVAL.value();
        }
        long data = arg + minsz;
        long dataSize = Integer.toUnsignedLong(argsz) - minsz;
        return switch (flags & VFIO_DEVICE_FEATURE_MASK) {
            case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY -> {
                int r = check(flags, dataSize, VFIO_DEVICE_FEATURE_SET, 0);
                if (r != 1) {
                    yield r;
                }
                vdev.power().enter(null);
                yield 0;
            }
            case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP -> entryWithWakeup(vdev, caller, flags, data, dataSize);
            case VFIO_DEVICE_FEATURE_LOW_POWER_EXIT -> {
                int r = check(flags, dataSize, VFIO_DEVICE_FEATURE_SET, 0);
                if (r != 1) {
                    yield r;
                }
                vdev.power().exit();
                yield 0;
            }
            // MIGRATION, MIG_DEVICE_STATE, MIG_DATA_SIZE: no mig_ops; DMA_LOGGING_*: no log_ops;
            // PCI_VF_TOKEN: no vf_token (not a PF); the rest: no such feature for vfio-pci.
            default -> -Errno.ENOTTY.value();
        };
    }

    /** vfio_pci_core_pm_entry_with_wakeup. */
    private static long entryWithWakeup(VfioPciDevice vdev, UserProcess caller, int flags, long data, long dataSize) {
        int r = check(flags, dataSize, VFIO_DEVICE_FEATURE_SET, WAKEUP.size());
        if (r != 1) {
            return r;
        }
        byte[] entry = new byte[WAKEUP.size()];
        caller.memory().read(data, entry, 0, entry.length);
        int fd = ByteBuffer.wrap(entry).order(ByteOrder.LITTLE_ENDIAN).getInt(WAKEUP.offset("wakeup_eventfd"));
        if (fd < 0) {
            return -Errno.EINVAL.value();
        }
        EventSignal wake = caller.eventfd(fd);
        try {
            vdev.power().enter(wake);
        } catch (IommufdException e) {
            wake.release();
            throw e;
        }
        return 0;
    }

    /**
     * vfio_check_feature: minus the errno for an operation the feature does not support or, outside
     * a probe, for neither GET nor SET or too little data; 0 for a probe; 1 to carry it out.
     */
    static int check(int flags, long dataSize, int supportedOps, int minDataSize) {
        if ((flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET) & ~supportedOps) != 0) {
            return -Errno.EINVAL.value();
        }
        if ((flags & VFIO_DEVICE_FEATURE_PROBE) != 0) {
            return 0;
        }
        if ((flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)) == 0 || dataSize < minDataSize) {
            return -Errno.EINVAL.value();
        }
        return 1;
    }
}
