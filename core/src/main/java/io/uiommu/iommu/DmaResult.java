package io.uiommu.iommu;

/**
 * What a device DMA through the IOMMU did: how many bytes moved before it stopped, and the
 * translation fault that stopped it (null when all of it completed).
 */
public record DmaResult(long bytesDone, Fault fault) {
    public record Fault(long iova, int pasid, boolean write, int code, String name, int level, boolean stage2) {
    }

    public boolean ok() {
        return fault == null;
    }
}
