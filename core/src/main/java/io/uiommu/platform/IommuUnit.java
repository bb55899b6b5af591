package io.uiommu.platform;

import java.util.List;
import java.util.Map;

/**
 * One IOMMU unit: its model ("mock", "vtd", "smmuv3", "amd") and what it can do. The common
 * capabilities are typed; vendor registers not derived from them can be overridden by name in
 * {@code registers} (e.g. "CAP", "ECAP", "IDR0", "EFR") — the model documents which it honours.
 *
 * @param inputAddressBits  IOVA width of stage 1 (VT-d FS width, SMMUv3 IAS/VA size, AMD v2 48/57)
 * @param outputAddressBits physical address width (VT-d MGAW, SMMUv3 OAS, AMD PA size)
 * @param granules          translation granules in bytes the unit supports (4096, 16384, 65536)
 * @param pasidBits         PASID / substream id width (0: none)
 * @param nesting           stage-1 over stage-2 supported
 * @param dirtyTracking     hardware dirty bits (VT-d SLADS, SMMUv3 HTTU, AMD HAD)
 * @param pri               page requests (VT-d PRS, SMMUv3 PRI, AMD PPR)
 */
public record IommuUnit(String name, String model, int inputAddressBits, int outputAddressBits, List<Long> granules,
        int pasidBits, boolean nesting, boolean dirtyTracking, boolean pri, Map<String, Long> registers) {
    public IommuUnit {
        granules = List.copyOf(granules);
        registers = Map.copyOf(registers);
    }
}
