package io.uiommu.platform;

/**
 * A PCI function behind an IOMMU unit.
 *
 * @param name      the name steps and calls use ("nic0")
 * @param bdf       bus/device/function as "BB:DD.F" (VT-d and AMD requester id)
 * @param streamId  SMMUv3 stream id (ignored by other models)
 * @param iommu     name of the {@link IommuUnit} translating for it
 * @param pasidBits width of its PCI PASID capability (0: no PASID capability)
 * @param ats       has an ATS capability
 * @param pri       has a PRI capability
 * @param pasidExec its PASID capability has Execute Permission Supported (IOMMU_HW_CAP_PCI_PASID_EXEC)
 * @param pasidPriv its PASID capability has Privileged Mode Supported (IOMMU_HW_CAP_PCI_PASID_PRIV)
 */
public record PciDevice(String name, String bdf, int streamId, String iommu, int pasidBits, boolean ats, boolean pri,
        boolean pasidExec, boolean pasidPriv) {
    /** A function whose PASID capability (if any) supports neither execute nor privileged requests. */
    public PciDevice(String name, String bdf, int streamId, String iommu, int pasidBits, boolean ats, boolean pri) {
        this(name, bdf, streamId, iommu, pasidBits, ats, pri, false, false);
    }

    /** The 16-bit requester id encoded in {@link #bdf}. */
    public int requesterId() {
        String[] busRest = bdf.split(":");
        String[] devFn = busRest[1].split("\\.");
        return Integer.parseInt(busRest[0], 16) << 8 | Integer.parseInt(devFn[0], 16) << 3 | Integer.parseInt(devFn[1]);
    }
}
