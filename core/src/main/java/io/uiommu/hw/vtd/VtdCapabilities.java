package io.uiommu.hw.vtd;

import io.uiommu.platform.IommuUnit;

import java.util.Map;

/**
 * The CAP and ECAP registers of a VT-d remapping unit (spec 11.4.2 and 11.4.3), computed from a
 * platform's {@link IommuUnit} and then overridden by its {@code registers}: "CAP" and "ECAP"
 * replace a whole register, "CAP.FIELD" / "ECAP.FIELD" (e.g. "ECAP.EAFS", "CAP.FL5LP") one field,
 * with the field names below. Field values are raw (MGAW is width - 1, PSS is bits - 1).
 *
 * <p>Locking: immutable.
 */
public final class VtdCapabilities {
    /** Fault recording registers start here (CAP.FRO x 16), as in QEMU's model. */
    static final int FAULT_RECORD_OFFSET = 0x220;
    static final int FAULT_RECORDS = 8;
    /** IOTLB registers (IVA, IOTLB) start here (ECAP.IRO x 16). */
    static final int IOTLB_REGISTER_OFFSET = 0xF0;
    /** Largest address-mask (AM) of page-selective invalidations: 2^18 pages = 1 GiB. */
    static final int MAX_ADDRESS_MASK = 18;

    /** A named field: shift and width in bits. */
    record Field(int shift, int width) {
        long get(long reg) {
            return (reg >>> shift) & mask();
        }

        long set(long reg, long value) {
            return (reg & ~(mask() << shift)) | ((value & mask()) << shift);
        }

        private long mask() {
            return width == 64 ? -1L : (1L << width) - 1;
        }
    }

    static final Map<String, Field> CAP_FIELDS = Map.ofEntries(
            Map.entry("ND", new Field(0, 3)), Map.entry("AFL", new Field(3, 1)), Map.entry("RWBF", new Field(4, 1)),
            Map.entry("PLMR", new Field(5, 1)), Map.entry("PHMR", new Field(6, 1)), Map.entry("CM", new Field(7, 1)),
            Map.entry("SAGAW", new Field(8, 5)), Map.entry("MGAW", new Field(16, 6)), Map.entry("ZLR", new Field(22, 1)),
            Map.entry("ISOCH", new Field(23, 1)), Map.entry("FRO", new Field(24, 10)),
            Map.entry("SLLPS", new Field(34, 4)), Map.entry("PSI", new Field(39, 1)), Map.entry("NFR", new Field(40, 8)),
            Map.entry("MAMV", new Field(48, 6)), Map.entry("DWD", new Field(54, 1)), Map.entry("DRD", new Field(55, 1)),
            Map.entry("FL1GP", new Field(56, 1)), Map.entry("PI", new Field(59, 1)), Map.entry("FL5LP", new Field(60, 1)),
            Map.entry("ECMDS", new Field(61, 1)), Map.entry("ESIRTPS", new Field(62, 1)),
            Map.entry("ESRTPS", new Field(63, 1)));

    static final Map<String, Field> ECAP_FIELDS = Map.ofEntries(
            Map.entry("C", new Field(0, 1)), Map.entry("QI", new Field(1, 1)), Map.entry("DT", new Field(2, 1)),
            Map.entry("IR", new Field(3, 1)), Map.entry("EIM", new Field(4, 1)), Map.entry("PT", new Field(6, 1)),
            Map.entry("SC", new Field(7, 1)), Map.entry("IRO", new Field(8, 10)), Map.entry("MHMV", new Field(20, 4)),
            Map.entry("MTS", new Field(25, 1)), Map.entry("NEST", new Field(26, 1)), Map.entry("PRS", new Field(29, 1)),
            Map.entry("ERS", new Field(30, 1)), Map.entry("SRS", new Field(31, 1)), Map.entry("NWFS", new Field(33, 1)),
            Map.entry("EAFS", new Field(34, 1)), Map.entry("PSS", new Field(35, 5)), Map.entry("PASID", new Field(40, 1)),
            Map.entry("DIT", new Field(41, 1)), Map.entry("PDS", new Field(42, 1)), Map.entry("SMTS", new Field(43, 1)),
            Map.entry("VCS", new Field(44, 1)), Map.entry("SLADS", new Field(45, 1)), Map.entry("SLTS", new Field(46, 1)),
            Map.entry("FLTS", new Field(47, 1)), Map.entry("SMPWCS", new Field(48, 1)), Map.entry("RPS", new Field(49, 1)),
            Map.entry("PMS", new Field(51, 1)));

    private final long cap;
    private final long ecap;

    private VtdCapabilities(long cap, long ecap) {
        this.cap = cap;
        this.ecap = ecap;
    }

    public static VtdCapabilities of(long cap, long ecap) {
        return new VtdCapabilities(cap, ecap);
    }

    /** CAP and ECAP for a unit: its widths, PASID bits, nesting, dirty tracking and PRI, then overrides. */
    public static VtdCapabilities of(IommuUnit unit) {
        int mgaw = unit.outputAddressBits();
        if (mgaw < 39 || mgaw > 57) {
            throw new IllegalArgumentException("VT-d MGAW must be 39..57 bits, not " + mgaw);
        }
        long sagaw = 1 << 1; // 39-bit, 3-level second stage
        if (mgaw > 39) {
            sagaw |= 1 << 2;
        }
        if (mgaw > 48) {
            sagaw |= 1 << 3;
        }
        long cap = 0;
        cap = f(CAP_FIELDS, "ND").set(cap, 6); // 16-bit domain ids
        cap = f(CAP_FIELDS, "SAGAW").set(cap, sagaw);
        cap = f(CAP_FIELDS, "MGAW").set(cap, mgaw - 1);
        cap = f(CAP_FIELDS, "FRO").set(cap, FAULT_RECORD_OFFSET / 16);
        cap = f(CAP_FIELDS, "SLLPS").set(cap, 0x3); // 2 MiB and 1 GiB second-stage pages
        cap = f(CAP_FIELDS, "PSI").set(cap, 1);
        cap = f(CAP_FIELDS, "NFR").set(cap, FAULT_RECORDS - 1);
        cap = f(CAP_FIELDS, "MAMV").set(cap, MAX_ADDRESS_MASK);
        cap = f(CAP_FIELDS, "DWD").set(cap, 1);
        cap = f(CAP_FIELDS, "DRD").set(cap, 1);
        cap = f(CAP_FIELDS, "FL1GP").set(cap, 1);
        cap = f(CAP_FIELDS, "FL5LP").set(cap, unit.inputAddressBits() >= 57 ? 1 : 0);

        long ecap = 0;
        ecap = f(ECAP_FIELDS, "C").set(ecap, 1);
        ecap = f(ECAP_FIELDS, "QI").set(ecap, 1);
        ecap = f(ECAP_FIELDS, "DT").set(ecap, 1);
        ecap = f(ECAP_FIELDS, "PT").set(ecap, 1);
        ecap = f(ECAP_FIELDS, "SC").set(ecap, 1);
        ecap = f(ECAP_FIELDS, "IRO").set(ecap, IOTLB_REGISTER_OFFSET / 16);
        ecap = f(ECAP_FIELDS, "NEST").set(ecap, unit.nesting() ? 1 : 0);
        ecap = f(ECAP_FIELDS, "PRS").set(ecap, unit.pri() ? 1 : 0);
        ecap = f(ECAP_FIELDS, "NWFS").set(ecap, unit.pri() ? 1 : 0);
        ecap = f(ECAP_FIELDS, "PDS").set(ecap, unit.pri() ? 1 : 0);
        ecap = f(ECAP_FIELDS, "SRS").set(ecap, 1);
        if (unit.pasidBits() > 0) {
            ecap = f(ECAP_FIELDS, "PASID").set(ecap, 1);
            ecap = f(ECAP_FIELDS, "PSS").set(ecap, Math.min(unit.pasidBits(), 20) - 1);
        }
        ecap = f(ECAP_FIELDS, "SMTS").set(ecap, 1);
        ecap = f(ECAP_FIELDS, "SLADS").set(ecap, unit.dirtyTracking() ? 1 : 0);
        ecap = f(ECAP_FIELDS, "SLTS").set(ecap, 1);
        ecap = f(ECAP_FIELDS, "FLTS").set(ecap, 1);
        ecap = f(ECAP_FIELDS, "SMPWCS").set(ecap, 1);

        for (var e : unit.registers().entrySet()) {
            String name = e.getKey();
            long value = e.getValue();
            if (name.equals("CAP")) {
                cap = value;
            } else if (name.equals("ECAP")) {
                ecap = value;
            }
        }
        for (var e : unit.registers().entrySet()) {
            String name = e.getKey();
            long value = e.getValue();
            if (name.startsWith("CAP.")) {
                cap = field(CAP_FIELDS, name.substring(4), name).set(cap, value);
            } else if (name.startsWith("ECAP.")) {
                ecap = field(ECAP_FIELDS, name.substring(5), name).set(ecap, value);
            } else if (!name.equals("CAP") && !name.equals("ECAP")) {
                throw new IllegalArgumentException("VT-d has no register override " + name
                        + " (CAP, ECAP, CAP.<field>, ECAP.<field>)");
            }
        }
        return new VtdCapabilities(cap, ecap);
    }

    private static Field f(Map<String, Field> fields, String name) {
        return fields.get(name);
    }

    private static Field field(Map<String, Field> fields, String name, String full) {
        Field fl = fields.get(name);
        if (fl == null) {
            throw new IllegalArgumentException("unknown VT-d register field " + full);
        }
        return fl;
    }

    public long cap() {
        return cap;
    }

    public long ecap() {
        return ecap;
    }

    long capField(String name) {
        return CAP_FIELDS.get(name).get(cap);
    }

    long ecapField(String name) {
        return ECAP_FIELDS.get(name).get(ecap);
    }

    /** Maximum guest address width in bits (CAP.MGAW + 1). */
    int mgaw() {
        return (int) capField("MGAW") + 1;
    }

    int sagaw() {
        return (int) capField("SAGAW");
    }

    int faultRecordOffset() {
        return (int) capField("FRO") * 16;
    }

    int faultRecordCount() {
        return (int) capField("NFR") + 1;
    }

    int maxAddressMask() {
        return (int) capField("MAMV");
    }

    boolean pageSelectiveInvalidation() {
        return capField("PSI") != 0;
    }

    /** Second-stage large pages: bit 0 = 2 MiB, bit 1 = 1 GiB. */
    int secondStageLargePages() {
        return (int) capField("SLLPS");
    }

    boolean firstStage1GiB() {
        return capField("FL1GP") != 0;
    }

    boolean firstStage5Level() {
        return capField("FL5LP") != 0;
    }

    boolean cachingMode() {
        return capField("CM") != 0;
    }

    int domainIdBits() {
        return 4 + 2 * (int) capField("ND");
    }

    boolean queuedInvalidation() {
        return ecapField("QI") != 0;
    }

    boolean deviceTlb() {
        return ecapField("DT") != 0;
    }

    boolean passThrough() {
        return ecapField("PT") != 0;
    }

    boolean snoopControl() {
        return ecapField("SC") != 0;
    }

    boolean nesting() {
        return scalableMode() && ecapField("NEST") != 0;
    }

    boolean supervisorRequests() {
        return ecapField("SRS") != 0;
    }

    boolean extendedAccessFlag() {
        return ecapField("EAFS") != 0;
    }

    boolean pasid() {
        return scalableMode() && ecapField("PASID") != 0;
    }

    /** PASID width in bits the unit supports (ECAP.PSS + 1), 0 without PASID support. */
    int pasidBits() {
        return pasid() ? (int) ecapField("PSS") + 1 : 0;
    }

    boolean scalableMode() {
        return ecapField("SMTS") != 0;
    }

    /** Second-stage accessed/dirty (what iommufd dirty tracking uses). */
    boolean secondStageAccessDirty() {
        return scalableMode() && ecapField("SLADS") != 0;
    }

    boolean secondStage() {
        return ecapField("SLTS") != 0;
    }

    boolean firstStage() {
        return ecapField("FLTS") != 0;
    }

    boolean pageWalkCoherency() {
        return ecapField("SMPWCS") != 0;
    }

    /**
     * The adjusted guest address width Linux picks (iommu->agaw): the largest of 39/48/57 bits
     * (agaw 1/2/3) both stages support, at most 57; -1 when none fits.
     */
    int agaw() {
        int slSagaw = sagaw();
        int flSagaw = 1 << 2 | (firstStage5Level() ? 1 << 3 : 0);
        int both;
        if (!scalableMode() || !firstStage()) {
            both = slSagaw;
        } else if (!secondStage()) {
            both = flSagaw;
        } else {
            both = flSagaw & slSagaw;
        }
        for (int agaw = 3; agaw >= 0; agaw--) {
            if ((both & (1 << agaw)) != 0) {
                return agaw;
            }
        }
        return -1;
    }

    static int agawToWidth(int agaw) {
        return 30 + agaw * 9;
    }

    static int agawToLevels(int agaw) {
        return agaw + 2;
    }
}
