package io.uiommu.platform;

import java.util.List;

/**
 * A machine: its IOMMU units and the PCI devices behind them. Read from a platform file (JSON, in
 * the scenario module) or built in Java; presets "mock", "vtd", "smmuv3" and "amd" ship with uiommu.
 */
public record Platform(String name, List<IommuUnit> iommus, List<PciDevice> devices) {
    public Platform {
        iommus = List.copyOf(iommus);
        devices = List.copyOf(devices);
    }

    public IommuUnit iommu(String unitName) {
        return iommus.stream().filter(u -> u.name().equals(unitName)).findFirst().orElse(null);
    }

    public PciDevice device(String deviceName) {
        return devices.stream().filter(d -> d.name().equals(deviceName)).findFirst().orElse(null);
    }
}
