package io.uiommu.platform;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A machine: its IOMMU units and the PCI devices behind them. Read from a platform file (JSON, in
 * the scenario module) or built in Java; presets "mock", "vtd", "smmuv3" and "amd" ship with uiommu.
 * Construction validates the whole description and refuses a bad one with an
 * {@link IllegalArgumentException} that names the unit or device and the field at fault.
 */
public record Platform(String name, List<IommuUnit> iommus, List<PciDevice> devices) {
    /** The models a unit may name. */
    public static final List<String> MODELS = List.of("mock", "vtd", "smmuv3", "amd");
    /** The granules (bytes) a unit may list. */
    public static final List<Long> GRANULES = List.of(4096L, 16384L, 65536L);
    /** Longest unit or device name: it must fit the 16-byte name fields of the uiommu test ops. */
    public static final int MAX_NAME = 15;
    /** PCIe PASIDs are 20 bits wide. */
    public static final int MAX_PASID_BITS = 20;

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1," + MAX_NAME + "}");
    private static final Pattern BDF = Pattern.compile("[0-9a-fA-F]{2}:[0-1][0-9a-fA-F]\\.[0-7]");

    /** The machine the kernel selftest sees: the mock IOMMU and no platform devices. */
    public static final Platform SELFTEST = new Platform("selftest", List.of(), List.of());

    public Platform {
        iommus = List.copyOf(iommus);
        devices = List.copyOf(devices);
        validate(name, iommus, devices);
    }

    /**
     * The "mock" preset: one mock unit ("mock0") with two PCI devices, "dev0" with a 20-bit PASID
     * capability and "dev1" without. The preset file platforms/mock.json says the same.
     */
    public static Platform mock() {
        IommuUnit unit = new IommuUnit("mock0", "mock", 48, 48, List.of(4096L), 20, true, true, false, Map.of());
        return new Platform("mock", List.of(unit), List.of(
                new PciDevice("dev0", "00:01.0", 0x8, "mock0", 20, true, false),
                new PciDevice("dev1", "00:02.0", 0x10, "mock0", 0, false, false)));
    }

    public IommuUnit iommu(String unitName) {
        return iommus.stream().filter(u -> u.name().equals(unitName)).findFirst().orElse(null);
    }

    public PciDevice device(String deviceName) {
        return devices.stream().filter(d -> d.name().equals(deviceName)).findFirst().orElse(null);
    }

    private static void validate(String name, List<IommuUnit> iommus, List<PciDevice> devices) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("platform: name is missing");
        }
        Set<String> units = new HashSet<>();
        for (IommuUnit u : iommus) {
            String where = "iommu " + u.name() + ": ";
            checkName("iommu", u.name());
            if (!units.add(u.name())) {
                throw new IllegalArgumentException(where + "a second unit with this name");
            }
            if (!MODELS.contains(u.model())) {
                throw new IllegalArgumentException(where + "model \"" + u.model() + "\" is not one of " + MODELS);
            }
            range(where + "input_address_bits", u.inputAddressBits(), 32, 64);
            range(where + "output_address_bits", u.outputAddressBits(), 32, 52);
            if (u.granules().isEmpty()) {
                throw new IllegalArgumentException(where + "granules is empty");
            }
            for (long g : u.granules()) {
                if (!GRANULES.contains(g)) {
                    throw new IllegalArgumentException(where + "granule " + g + " is not one of " + GRANULES);
                }
            }
            range(where + "pasid_bits", u.pasidBits(), 0, MAX_PASID_BITS);
            for (String reg : u.registers().keySet()) {
                if (reg == null || reg.isBlank()) {
                    throw new IllegalArgumentException(where + "a register override has no name");
                }
            }
        }
        Set<String> names = new HashSet<>();
        Set<String> rids = new HashSet<>();
        Set<String> streams = new HashSet<>();
        for (PciDevice d : devices) {
            String where = "device " + d.name() + ": ";
            checkName("device", d.name());
            if (!names.add(d.name())) {
                throw new IllegalArgumentException(where + "a second device with this name");
            }
            if (d.iommu() == null || !units.contains(d.iommu())) {
                throw new IllegalArgumentException(where + "iommu \"" + d.iommu() + "\" is not a unit of the platform"
                        + (units.isEmpty() ? "" : " " + units.stream().sorted().toList()));
            }
            if (d.bdf() == null || !BDF.matcher(d.bdf()).matches()) {
                throw new IllegalArgumentException(where + "bdf \"" + d.bdf()
                        + "\" is not bus:device.function as BB:DD.F (hex, device below 0x20, function below 8)");
            }
            if (!rids.add(d.iommu() + "/" + d.requesterId())) {
                throw new IllegalArgumentException(where + "bdf " + d.bdf() + " is used twice behind " + d.iommu());
            }
            if (d.streamId() < 0) {
                throw new IllegalArgumentException(where + "stream_id " + d.streamId() + " is negative");
            }
            if (!streams.add(d.iommu() + "/" + d.streamId())) {
                throw new IllegalArgumentException(where + "stream_id " + d.streamId() + " is used twice behind "
                        + d.iommu());
            }
            range(where + "pasid_bits", d.pasidBits(), 0, MAX_PASID_BITS);
            if ((d.pasidExec() || d.pasidPriv()) && d.pasidBits() == 0) {
                throw new IllegalArgumentException(where + (d.pasidExec() ? "pasid_exec" : "pasid_priv")
                        + " needs a PASID capability (pasid_bits above 0)");
            }
        }
    }

    private static void checkName(String what, String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException(what + " name \"" + name + "\" must be 1-" + MAX_NAME
                    + " characters of letters, digits, '_', '.', '-'");
        }
    }

    private static void range(String what, int v, int min, int max) {
        if (v < min || v > max) {
            throw new IllegalArgumentException(what + " is " + v + ", not in " + min + ".." + max);
        }
    }
}
