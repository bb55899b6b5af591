package io.uiommu.hw.smmuv3;

import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.UserData;
import io.uiommu.iommu.UserDataArray;
import io.uiommu.iommu.ViommuCore;
import io.uiommu.iommu.ViommuOps;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;

/**
 * A vSMMU (struct arm_vsmmu, arm-smmu-v3-iommufd.c): the VM's view of one SMMUv3 over a stage-2
 * nesting parent, whose VMID it shares. It makes nested domains from vSTEs
 * (IOMMU_HWPT_DATA_ARM_SMMUV3) and runs the VM's invalidation commands
 * (IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3) on the physical command queue after forcing the VMID
 * into TLBIs and turning vSIDs into physical StreamIDs for CFGI_CD*, ATC_INV.
 *
 * <p>Locking: called under the iommufd context lock; commands go through the driver's lock.
 */
final class ArmVsmmu implements ViommuOps {
    static final int IOMMU_VIOMMU_TYPE_ARM_SMMUV3 = 1;
    static final int IOMMU_HWPT_DATA_ARM_SMMUV3 = 2;
    static final int IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3 = 1;
    static final int IOMMU_VEVENTQ_TYPE_ARM_SMMUV3 = 1;
    /** sizeof(struct iommu_hwpt_arm_smmuv3) and sizeof(struct iommu_viommu_arm_smmuv3_invalidate). */
    static final int VSTE_BYTES = 16;
    static final int CMD_BYTES = 16;
    /** arm_vsmmu_cache_invalidate issues CMDQ_BATCH_ENTRIES - 1 commands per batch (BITS_PER_LONG - 1). */
    static final int BATCH = 63;

    private final ArmSmmuV3 smmu;
    private final SmmuPagingDomain parent;
    private final ViommuCore vdevs;
    private final int vmid;

    ArmVsmmu(ArmSmmuV3 smmu, SmmuPagingDomain parent, ViommuCore vdevs) {
        this.smmu = smmu;
        this.parent = parent;
        this.vdevs = vdevs;
        this.vmid = parent.vmid();
    }

    ArmSmmuV3 smmu() {
        return smmu;
    }

    SmmuPagingDomain parent() {
        return parent;
    }

    int vmid() {
        return vmid;
    }

    ViommuCore vdevs() {
        return vdevs;
    }

    /**
     * arm_vmaster_report_event: struct iommu_vevent_arm_smmuv3 — the four record dwords,
     * little-endian, with the StreamID field holding {@code vsid} — to the vEVENTQ of type
     * ARM_SMMUV3; minus EOPNOTSUPP when the VMM has none.
     */
    int reportEvent(long[] evt, long vsid) {
        byte[] vevt = new byte[Event.BYTES];
        long dw0 = (evt[0] & ~(0xffff_ffffL << Event.SID_SHIFT)) | (vsid & 0xffff_ffffL) << Event.SID_SHIFT;
        for (int i = 0; i < 4; i++) {
            long v = i == 0 ? dw0 : evt[i];
            for (int k = 0; k < 8; k++) {
                vevt[8 * i + k] = (byte) (v >>> (8 * k));
            }
        }
        return vdevs.reportEvent(IOMMU_VEVENTQ_TYPE_ARM_SMMUV3, vevt);
    }

    /** arm_vsmmu_alloc_domain_nested + arm_smmu_validate_vste. */
    @Override
    public IommuDomain allocDomainNested(int flags, UserData data) {
        if (flags != 0) {
            throw new IommufdException(Errno.EOPNOTSUPP, "nested SMMUv3 domains take no flags");
        }
        byte[] b = data.copyStruct(IOMMU_HWPT_DATA_ARM_SMMUV3, VSTE_BYTES, VSTE_BYTES);
        long ste0 = le64(b, 0);
        long ste1 = le64(b, 8);
        boolean enableAts = false;
        if ((ste0 & Ste.V) == 0) {
            ste0 = 0;
            ste1 = 0;
        } else {
            // EIO is what the kernel reserves for a vSTE it will not install
            if ((ste0 & ~Ste.NESTING_ALLOWED_0) != 0 || (ste1 & ~Ste.NESTING_ALLOWED_1) != 0) {
                throw new IommufdException(Errno.EIO, "vSTE sets fields the guest may not control");
            }
            int cfg = Ste.config(ste0);
            if (cfg != Ste.CONFIG_ABORT && cfg != Ste.CONFIG_BYPASS && cfg != Ste.CONFIG_S1_TRANS) {
                throw new IommufdException(Errno.EIO, "vSTE Config " + cfg);
            }
            int eats = Ste.eats(ste1);
            ste1 &= ~Ste.EATS_MASK;
            if (eats != Ste.EATS_ABT && eats != Ste.EATS_TRANS) {
                throw new IommufdException(Errno.EIO, "vSTE EATS " + eats);
            }
            enableAts = cfg == Ste.CONFIG_S1_TRANS && eats == Ste.EATS_TRANS;
        }
        return new SmmuNestedDomain(this, ste0, ste1, enableAts);
    }

    /** arm_vsmmu_cache_invalidate: all entries are read first, then converted and issued in batches. */
    @Override
    public void cacheInvalidate(UserDataArray array) {
        array.setHandled(0);
        if (array.type() != IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3) {
            throw new IommufdException(Errno.EINVAL, "unexpected invalidation type");
        }
        int n = array.entryCount();
        if (n == 0) {
            throw new IommufdException(Errno.EINVAL, "no entries");
        }
        long[][] cmds = new long[n][];
        for (int i = 0; i < n; i++) {
            byte[] e = array.copyEntryExtensible(i, CMD_BYTES);
            cmds[i] = new long[] {le64(e, 0), le64(e, 8)};
        }
        int last = 0;
        for (int cur = 0; cur < n; ) {
            if (!convert(cmds[cur])) {
                // the converted commands since the last batch are counted but never issued (kernel quirk)
                array.setHandled(cur);
                throw new IommufdException(Errno.EIO, "command " + cur + " (" + Command.name(Command.opcode(cmds[cur][0]))
                        + ") is not allowed or names an unknown vSID");
            }
            cur++;
            if (cur != n && cur - last != BATCH) {
                continue;
            }
            smmu.issueBatch(cmds, last, cur);
            last = cur;
        }
        array.setHandled(n);
    }

    /** arm_vsmmu_convert_user_cmd: false for a command the guest may not issue or an unknown vSID. */
    private boolean convert(long[] cmd) {
        int op = Command.opcode(cmd[0]);
        switch (op) {
            case Command.TLBI_NSNH_ALL -> {
                cmd[0] = Command.TLBI_NH_ALL | (long) vmid << Command.TLBI_VMID_SHIFT;
                cmd[1] = 0;
            }
            case Command.TLBI_NH_VA, Command.TLBI_NH_VAA, Command.TLBI_NH_ALL, Command.TLBI_NH_ASID ->
                    cmd[0] = (cmd[0] & ~Command.TLBI_VMID_MASK) | (long) vmid << Command.TLBI_VMID_SHIFT;
            case Command.ATC_INV, Command.CFGI_CD, Command.CFGI_CD_ALL -> {
                IommuDevice dev = vdevs.find(Integer.toUnsignedLong(Command.sid(cmd[0])));
                if (!(dev instanceof SmmuMaster master)) {
                    return false;
                }
                cmd[0] = (cmd[0] & ~Command.SID_MASK) | (long) master.streamId() << Command.SID_SHIFT;
            }
            default -> {
                return false;
            }
        }
        return true;
    }

    static long le64(byte[] b, int off) {
        long v = 0;
        for (int i = 7; i >= 0; i--) {
            v = v << 8 | (b[off + i] & 0xff);
        }
        return v;
    }
}
