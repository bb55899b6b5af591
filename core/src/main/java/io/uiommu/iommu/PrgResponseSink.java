package io.uiommu.iommu;

/**
 * Where an IOMMU model sends PRG response messages: to the function with {@code requesterId}
 * (VT-d source id, SMMUv3 stream id, AMD device id), for group {@code prgIndex}, with the PASID the
 * response carries ({@link Translation#NO_PASID} if none) and the code mapped to {@link PageResponse}.
 * Called under the model's locks: implementations only post the message.
 */
@FunctionalInterface
public interface PrgResponseSink {
    void prgResponse(int requesterId, int pasid, int prgIndex, int code);
}
