package io.uiommu.hw.vtd;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class VtdCapabilitiesTest {
    @Test
    void capFieldsFollowTheUnit() {
        VtdCapabilities c = VtdCapabilities.of(VtdFixture.unit(48, 48, 20, true, true, Map.of()));
        long cap = c.cap();
        assertThat((cap >>> 16) & 0x3F).as("MGAW").isEqualTo(47);
        assertThat((cap >>> 8) & 0x1F).as("SAGAW: 39 and 48 bit").isEqualTo(0x6);
        assertThat((cap >>> 24) & 0x3FF).as("FRO").isEqualTo(0x22);
        assertThat((cap >>> 40) & 0xFF).as("NFR").isEqualTo(7);
        assertThat((cap >>> 34) & 0xF).as("SLLPS").isEqualTo(0x3);
        assertThat((cap >>> 39) & 1).as("PSI").isEqualTo(1);
        assertThat((cap >>> 48) & 0x3F).as("MAMV").isEqualTo(18);
        assertThat((cap >>> 56) & 1).as("FL1GP").isEqualTo(1);
        assertThat((cap >>> 60) & 1).as("FL5LP").isZero();
        assertThat((cap >>> 7) & 1).as("CM").isZero();
        assertThat(cap & 7).as("ND: 16-bit domain ids").isEqualTo(6);
        assertThat(c.agaw()).isEqualTo(2);
    }

    @Test
    void ecapFieldsFollowTheUnit() {
        long ecap = VtdCapabilities.of(VtdFixture.unit(48, 48, 20, true, true, Map.of())).ecap();
        assertThat(ecap & 1).as("C").isEqualTo(1);
        assertThat((ecap >>> 1) & 1).as("QI").isEqualTo(1);
        assertThat((ecap >>> 8) & 0x3FF).as("IRO").isEqualTo(0xF);
        assertThat((ecap >>> 26) & 1).as("NEST").isEqualTo(1);
        assertThat((ecap >>> 29) & 1).as("PRS").isZero();
        assertThat((ecap >>> 35) & 0x1F).as("PSS").isEqualTo(19);
        assertThat((ecap >>> 40) & 1).as("PASID").isEqualTo(1);
        assertThat((ecap >>> 43) & 1).as("SMTS").isEqualTo(1);
        assertThat((ecap >>> 45) & 1).as("SLADS").isEqualTo(1);
        assertThat((ecap >>> 46) & 1).as("SLTS").isEqualTo(1);
        assertThat((ecap >>> 47) & 1).as("FLTS").isEqualTo(1);

        long bare = VtdCapabilities.of(VtdFixture.unit(48, 48, 0, false, false, Map.of())).ecap();
        assertThat((bare >>> 26) & 1).as("NEST").isZero();
        assertThat((bare >>> 40) & 1).as("PASID").isZero();
        assertThat((bare >>> 45) & 1).as("SLADS").isZero();
    }

    @Test
    void fiveLevelUnit() {
        VtdCapabilities c = VtdCapabilities.of(VtdFixture.unit(57, 57, 20, true, true, Map.of()));
        assertThat((c.cap() >>> 8) & 0x1F).isEqualTo(0xE);
        assertThat((c.cap() >>> 60) & 1).isEqualTo(1);
        assertThat(c.agaw()).isEqualTo(3);
        assertThat(c.mgaw()).isEqualTo(57);
        // A 57-bit second stage without a 5-level first stage: Linux's agaw stays 48 bits.
        VtdCapabilities noFl5 = VtdCapabilities.of(VtdFixture.unit(48, 57, 20, true, true, Map.of()));
        assertThat(noFl5.agaw()).isEqualTo(2);
    }

    @Test
    void overridesReplaceRegistersThenFields() {
        VtdCapabilities c = VtdCapabilities.of(VtdFixture.unit(48, 48, 20, true, true,
                VtdFixture.regs("ECAP.EAFS", 1, "CAP.FL1GP", 0, "ECAP.PSS", 4)));
        assertThat((c.ecap() >>> 34) & 1).isEqualTo(1);
        assertThat((c.cap() >>> 56) & 1).isZero();
        assertThat(c.pasidBits()).isEqualTo(5);

        VtdCapabilities whole = VtdCapabilities.of(VtdFixture.unit(48, 48, 20, true, true,
                VtdFixture.regs("CAP", 0x1234L, "ECAP", 0x8L, "ECAP.QI", 1)));
        assertThat(whole.cap()).isEqualTo(0x1234L);
        assertThat(whole.ecap()).isEqualTo(0xAL);
    }

    @Test
    void badOverridesAreRefused() {
        assertThatThrownBy(() -> VtdCapabilities.of(VtdFixture.unit(48, 48, 20, true, true,
                VtdFixture.regs("ECAP.NOPE", 1)))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> VtdCapabilities.of(VtdFixture.unit(48, 48, 20, true, true,
                VtdFixture.regs("IDR0", 1)))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> VtdCapabilities.of(VtdFixture.unit(48, 64, 20, true, true, Map.of())))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void registersReadBackThroughMmioOffsets() {
        VtdFixture f = new VtdFixture();
        assertThat(f.hw.read64(VtdHardware.CAP)).isEqualTo(f.hw.capabilities().cap());
        assertThat(f.hw.read64(VtdHardware.ECAP)).isEqualTo(f.hw.capabilities().ecap());
        assertThat(f.hw.read32(VtdHardware.CAP + 4)).isEqualTo((int) (f.hw.capabilities().cap() >>> 32));
        int gsts = f.hw.read32(VtdHardware.GSTS);
        assertThat(gsts & VtdHardware.GSTS_TES).isNotZero();
        assertThat(gsts & VtdHardware.GSTS_RTPS).isNotZero();
        assertThat(gsts & VtdHardware.GSTS_QIES).isNotZero();
        assertThat(f.hw.read64(VtdHardware.RTADDR)).isEqualTo(f.iommu.rootTable() | VtdHardware.RTADDR_TTM_SCALABLE);
        assertThat(f.hw.read64(VtdHardware.IQA) & VtdHardware.IQA_DW).isNotZero();
        assertThat(f.hw.read64(VtdHardware.IQH)).isEqualTo(f.hw.read64(VtdHardware.IQT));
    }
}
