package io.uiommu.uapi;

import io.uiommu.iommu.DmaResult;
import io.uiommu.iommu.IommuCore;
import io.uiommu.iommu.StaleTranslation;
import io.uiommu.iommu.StaleTranslationAuditor;
import io.uiommu.iommu.Translation;
import io.uiommu.iommufd.Device;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.platform.PciDevice;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static io.uiommu.uapi.TestStructs.IOMMU_TEST_CMD;
import static io.uiommu.uapi.UapiConstants.*;

/**
 * uiommu's own IOMMU_TEST_CMD ops (IOMMU_TEST_OP_UI_*, from 0x75690000): what a C client needs
 * before VFIO device files exist — the platform's devices, binding one to the iommufd, attaching
 * its RID or a PASID, device DMA through the IOMMU model, and the stale-translation auditor.
 * Struct layouts are in {@link TestStructs} and docs/iommufd.md; each fits the 48-byte union of
 * the kernel's struct iommu_test_cmd.
 *
 * <p>Locking: runs under the context lock like every ioctl.
 */
final class PlatformTestCmd {
    private PlatformTestCmd() {
    }

    /** Longest DMA or text transfer of one call (as the selftest bounds ACCESS_RW). */
    private static final long MAX_TRANSFER = 16L << 20;
    private static final int ID = IOMMU_TEST_CMD.offset("id");

    private static int off(String field) {
        return IOMMU_TEST_CMD.offset(field);
    }

    /** Whether an op number is one of ours. */
    static boolean handles(int op) {
        return op > IOMMU_TEST_OP_UI_BASE && op <= IOMMU_TEST_OP_UI_FAULT_NAME;
    }

    static long handle(Ucmd u, int op) {
        int id = u.u32(ID);
        return switch (op) {
            case IOMMU_TEST_OP_UI_PLATFORM_DEVICE_INFO -> deviceInfo(u, id);
            case IOMMU_TEST_OP_UI_DEVICE_BIND -> bind(u, id);
            case IOMMU_TEST_OP_UI_DEVICE_ATTACH -> attach(u, id);
            case IOMMU_TEST_OP_UI_DEVICE_DETACH -> detach(u, id);
            case IOMMU_TEST_OP_UI_DMA -> dma(u, id);
            case IOMMU_TEST_OP_UI_AUDIT -> audit(u);
            case IOMMU_TEST_OP_UI_FAULT_NAME -> faultName(u, id);
            default -> throw new IommufdException(Errno.EOPNOTSUPP, "unknown test op");
        };
    }

    private static PciDevice platformDevice(Ucmd u, int index) {
        List<PciDevice> devices = u.ctx.iommu().platform().devices();
        if (index < 0 || index >= devices.size()) {
            throw new IommufdException(Errno.ENOENT, "no platform device with index " + Integer.toUnsignedString(index));
        }
        return devices.get(index);
    }

    private static void putString(Ucmd u, String field, String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        // Platform names are at most 15 characters: the NUL always fits.
        System.arraycopy(b, 0, u.cmd, off(field), Math.min(b.length, 15));
    }

    /** id = index into the platform's devices: ENOENT past the last. */
    private static long deviceInfo(Ucmd u, int index) {
        PciDevice d = platformDevice(u, index);
        u.put32(off("platform_device_info.out_requester_id"), d.requesterId());
        u.put32(off("platform_device_info.out_stream_id"), d.streamId());
        u.put32(off("platform_device_info.out_flags"), (d.ats() ? UI_DEVICE_INFO_ATS : 0) | (d.pri() ? UI_DEVICE_INFO_PRI : 0));
        u.put32(off("platform_device_info.out_pasid_bits"), d.pasidBits());
        putString(u, "platform_device_info.out_name", d.name());
        putString(u, "platform_device_info.out_iommu", d.iommu());
        u.respond();
        return 0;
    }

    /** id = platform device index; binds it (claiming DMA ownership) and returns its dev_id. */
    private static long bind(Ucmd u, int index) {
        PciDevice d = platformDevice(u, index);
        Device dev = Device.bindPlatform(u.ctx, d.name());
        u.put32(off("device_bind.out_dev_id"), dev.id());
        try {
            u.respond();
        } catch (IommufdException e) {
            dev.unbind();
            throw e;
        }
        return 0;
    }

    private static Device device(Ucmd u, int devId) {
        return u.ctx.objects().get(devId, Device.class);
    }

    /** id = dev_id; attaches the RID or a PASID, replacing what is attached (VFIO's ATTACH does). */
    private static long attach(Ucmd u, int devId) {
        int flags = u.u32(off("device_attach.flags"));
        if ((flags & ~UI_ATTACH_PASID) != 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "unknown attach flags");
        }
        Device dev = device(u, devId);
        int ptId = u.u32(off("device_attach.pt_id"));
        int hwptId;
        if ((flags & UI_ATTACH_PASID) != 0) {
            int pasid = u.u32(off("device_attach.pasid"));
            boolean attached = dev.pasidHwpt(pasid) != null;
            hwptId = attached ? dev.replacePasid(pasid, ptId) : dev.attachPasid(pasid, ptId);
        } else {
            hwptId = dev.hwpt() != null ? dev.replace(ptId) : dev.attach(ptId);
        }
        u.put32(off("device_attach.out_hwpt_id"), hwptId);
        u.respond();
        return 0;
    }

    /** id = dev_id; detaches the RID or a PASID; nothing attached is not an error (as in VFIO). */
    private static long detach(Ucmd u, int devId) {
        int flags = u.u32(off("device_detach.flags"));
        if ((flags & ~UI_ATTACH_PASID) != 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "unknown detach flags");
        }
        Device dev = device(u, devId);
        if ((flags & UI_ATTACH_PASID) != 0) {
            dev.detachPasid(u.u32(off("device_detach.pasid")));
        } else if (dev.hwpt() != null) {
            dev.detach();
        }
        return 0;
    }

    /**
     * id = dev_id; the device reads or writes {@code length} bytes at {@code iova} through its
     * IOMMU, from or into the caller's buffer. A translation fault is a result: the call succeeds
     * with the bytes done before it and the fault's code, name index and level.
     */
    private static long dma(Ucmd u, int devId) {
        int flags = u.u32(off("dma.flags"));
        if ((flags & ~(UI_DMA_WRITE | UI_DMA_PASID)) != 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "unknown DMA flags");
        }
        long iova = u.u64(off("dma.iova"));
        long length = u.u64(off("dma.length"));
        long uptr = u.u64(off("dma.uptr"));
        int pasid = Translation.NO_PASID;
        if ((flags & UI_DMA_PASID) != 0) {
            pasid = u.u32(off("dma.pasid"));
            if (Integer.compareUnsigned(pasid, (1 << 20) - 1) > 0) {
                throw new IommufdException(Errno.EINVAL, "a PASID has 20 bits");
            }
        }
        if (length == 0) {
            throw new IommufdException(Errno.EINVAL, "zero length");
        }
        if (Long.compareUnsigned(length, MAX_TRANSFER) > 0) {
            throw new IommufdException(Errno.ENOMEM, "longer than 16 MiB");
        }
        if (Long.compareUnsigned(iova + length - 1, iova) < 0) {
            throw new IommufdException(Errno.EOVERFLOW, "IOVA range wraps");
        }
        Device dev = device(u, devId);
        boolean write = (flags & UI_DMA_WRITE) != 0;
        byte[] buf = new byte[(int) length];
        if (write) {
            u.memory().read(uptr, buf, 0, buf.length);
        } else {
            // Check the destination first: a bad buffer must not leave a half-done DMA behind.
            u.memory().read(uptr, new byte[buf.length], 0, buf.length);
        }
        DmaResult r = dev.dma(pasid, iova, buf, 0, buf.length, write);
        if (!write) {
            u.memory().write(uptr, buf, 0, (int) r.bytesDone());
        }
        u.put64(off("dma.out_bytes_done"), r.bytesDone());
        if (r.fault() != null) {
            DmaResult.Fault f = r.fault();
            u.put32(off("dma.out_fault_code"), f.code());
            put16(u, off("dma.out_fault_name"), u.ctx.iommu().faultNameIndex(f.name()));
            u.put8(off("dma.out_fault_level"), f.level());
            u.put8(off("dma.out_fault_flags"), UI_DMA_FAULTED | (f.stage2() ? UI_DMA_FAULT_STAGE2 : 0));
        }
        u.respond();
        return 0;
    }

    private static void put16(Ucmd u, int off, int v) {
        u.put8(off, v & 0xff);
        u.put8(off + 1, (v >>> 8) & 0xff);
    }

    /**
     * The machine's stale-translation auditor: ENABLE, DISABLE (not both: EINVAL) and CLEAR, then
     * the state, the report count and, with a buffer, the reports as text (one per line, NUL
     * terminated). A buffer too small is EMSGSIZE with out_length set to what is needed.
     */
    private static long audit(Ucmd u) {
        int flags = u.u32(off("audit.flags"));
        if ((flags & ~(UI_AUDIT_ENABLE | UI_AUDIT_DISABLE | UI_AUDIT_CLEAR)) != 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "unknown audit flags");
        }
        if ((flags & UI_AUDIT_ENABLE) != 0 && (flags & UI_AUDIT_DISABLE) != 0) {
            throw new IommufdException(Errno.EINVAL, "enable and disable at once");
        }
        long uptr = u.u64(off("audit.uptr"));
        long length = u.u64(off("audit.length"));
        StaleTranslationAuditor auditor = u.ctx.iommu().auditor();
        List<StaleTranslation> reports = auditor.reports();
        byte[] text = null;
        if (uptr != 0) {
            StringBuilder b = new StringBuilder();
            for (StaleTranslation s : reports) {
                b.append(s).append('\n');
            }
            text = (b + "\0").getBytes(StandardCharsets.UTF_8);
            u.put64(off("audit.out_length"), text.length);
            if (Long.compareUnsigned(length, text.length) < 0) {
                u.respond();
                throw new IommufdException(Errno.EMSGSIZE, "report text needs " + text.length + " bytes");
            }
            u.memory().write(uptr, text, 0, text.length);
        }
        if ((flags & UI_AUDIT_CLEAR) != 0) {
            auditor.clearReports();
        }
        if ((flags & UI_AUDIT_ENABLE) != 0) {
            auditor.setEnabled(true);
        } else if ((flags & UI_AUDIT_DISABLE) != 0) {
            auditor.setEnabled(false);
        }
        u.put32(off("audit.out_flags"), auditor.enabled() ? UI_AUDIT_ENABLED : 0);
        u.put32(off("audit.out_count"), auditor.reports().size());
        u.respond();
        return 0;
    }

    /** id = a fault name index from DMA: the name, NUL terminated; EMSGSIZE when it does not fit. */
    private static long faultName(Ucmd u, int index) {
        IommuCore core = u.ctx.iommu();
        String name = core.faultName(index);
        if (name == null) {
            throw new IommufdException(Errno.ENOENT, "no fault name " + index);
        }
        byte[] b = (name + "\0").getBytes(StandardCharsets.US_ASCII);
        u.put32(off("fault_name.out_length"), b.length);
        if (Integer.compareUnsigned(u.u32(off("fault_name.length")), b.length) < 0) {
            u.respond();
            throw new IommufdException(Errno.EMSGSIZE, "name needs " + b.length + " bytes");
        }
        u.memory().write(u.u64(off("fault_name.uptr")), b, 0, b.length);
        u.respond();
        return 0;
    }
}
