package io.uiommu.testing;

import io.uiommu.platform.IommuUnit;
import io.uiommu.platform.PciDevice;
import io.uiommu.platform.Platform;

import java.util.List;
import java.util.Map;

/**
 * The shipped platform presets (platforms/*.json) built in Java, for core tests that cannot read
 * JSON: one unit of each model with nic0 (PASIDs, ATS), gpu0 (PASIDs with execute and privileged
 * requests, PRI) and nvme0 (no PASID capability).
 */
public final class Machines {
    private Machines() {
    }

    /** The preset of a model: "vtd", "smmuv3", "amd" or "mock". */
    public static Platform preset(String model) {
        return switch (model) {
            case "vtd" -> machine(model, new IommuUnit("dmar0", "vtd", 48, 46, List.of(4096L), 20, true, true, true,
                    Map.of()), 20);
            case "smmuv3" -> machine(model, new IommuUnit("smmu0", "smmuv3", 48, 48, List.of(4096L, 16384L, 65536L), 20,
                    true, true, false, Map.of()), 20);
            case "amd" -> machine(model, new IommuUnit("ivhd0", "amd", 48, 48, List.of(4096L), 16, true, true, true,
                    Map.of()), 16);
            case "mock" -> Platform.mock();
            default -> throw new IllegalArgumentException("no preset " + model);
        };
    }

    // Stream ids are the requester ids, as the platform reader defaults them.
    private static Platform machine(String name, IommuUnit unit, int pasidBits) {
        String u = unit.name();
        return new Platform(name, List.of(unit), List.of(
                new PciDevice("nic0", "00:03.0", 0x18, u, pasidBits, true, false),
                new PciDevice("gpu0", "00:04.0", 0x20, u, pasidBits, true, unit.pri(), true, true),
                new PciDevice("nvme0", "00:05.0", 0x28, u, 0, false, false)));
    }
}
