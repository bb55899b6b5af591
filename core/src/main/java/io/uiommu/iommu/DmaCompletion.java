package io.uiommu.iommu;

/**
 * Where a device hears that a DMA it started has finished: at once, or later, after the page
 * requests it sent for faulting pages were answered (the responder's thread then calls it).
 */
@FunctionalInterface
public interface DmaCompletion {
    void done(DmaResult result);
}
