package io.uiommu.hw.amd;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Bit layouts of DTEs, commands, events and feature registers, checked against the spec's numbers. */
class AmdEncodingTest {

    @Test
    void gcr3RootIsSplitOverThreeFieldsAndComesBackWhole() {
        long root = 0x000a_bcde_f123_4000L;
        long q0 = DeviceTableEntry.gcr3Q0(root);
        long q1 = DeviceTableEntry.gcr3Q1(root);
        assertThat(q0 & ~DeviceTableEntry.GCR3_A).isZero();
        assertThat(q1 & ~(DeviceTableEntry.GCR3_B | DeviceTableEntry.GCR3_C)).isZero();
        // bits [14:12] at [60:58], [30:15] at qword 1 [31:16], [51:31] at qword 1 [63:43]
        assertThat(q0 >>> 58).isEqualTo(root >>> 12 & 7);
        assertThat(q1 >>> 16 & 0xffff).isEqualTo(root >>> 15 & 0xffff);
        assertThat(q1 >>> 43).isEqualTo(root >>> 31);
        assertThat(DeviceTableEntry.gcr3Root(q0, q1)).isEqualTo(root);
    }

    @Test
    void hostDteCarriesModeRootAndPermissions() {
        long q0 = DeviceTableEntry.hostQ0(0x1234_5000L, 4);
        assertThat(q0).isEqualTo(0x1234_5000L | 4L << 9 | 1L << 61 | 1L << 62 | 0b11);
        assertThat(DeviceTableEntry.mode(q0)).isEqualTo(4);
        assertThat(DeviceTableEntry.root(q0)).isEqualTo(0x1234_5000L);
        assertThat(DeviceTableEntry.HAD).isEqualTo(3L << 7);
        assertThat(DeviceTableEntry.guestLevels(1L << 54)).isEqualTo(5);
        assertThat(DeviceTableEntry.guestLevels(0)).isEqualTo(4);
    }

    @Test
    void invalidationAddressesFollowLinuxBuildInvAddress() {
        // one page: the page address, S clear
        assertThat(AmdCommand.invalidationAddress(0x5000, 4096)).isEqualTo(0x5000);
        assertThat(AmdCommand.invalidationAddress(0x5123, 16)).isEqualTo(0x5000);
        // two pages 0x4000..0x5fff: highest differing bit 12 -> S=1 and bit 12 clear: 8 KiB at 0x4000
        long two = AmdCommand.invalidationAddress(0x4000, 0x2000);
        assertThat(two).isEqualTo(0x4000 | AmdCommand.INV_S);
        assertThat(AmdCommand.invalidationSize(two)).isEqualTo(0x2000);
        assertThat(AmdCommand.invalidationStart(two)).isEqualTo(0x4000);
        // an unaligned range widens to the naturally aligned block holding both ends
        long odd = AmdCommand.invalidationAddress(0x3000, 0x2000);
        assertThat(AmdCommand.invalidationStart(odd)).isZero();
        assertThat(AmdCommand.invalidationSize(odd)).isEqualTo(0x8000);
        // everything
        long all = AmdCommand.invalidationAddress(0, -1);
        assertThat(all).isEqualTo(0x7fff_ffff_ffff_f000L | AmdCommand.INV_S);
        assertThat(AmdCommand.invalidationSize(all)).isEqualTo(-1);
        assertThat(AmdCommand.invalidationSize(0x7fff_ffff_ffff_f000L | AmdCommand.INV_S)).isEqualTo(-1);
        assertThat(AmdCommand.invalidationSize(0x5000)).isEqualTo(4096);
    }

    @Test
    void commandsHaveTheirOpcodeAndFieldsWhereLinuxPutsThem() {
        long[] cw = AmdCommand.completionWait(0x1234_5678_9ab8L, 42, true);
        assertThat(AmdCommand.opcode(cw[0])).isEqualTo(1);
        assertThat(cw[0] & AmdCommand.CW_ADDRESS).isEqualTo(0x1234_5678_9ab8L);
        assertThat(cw[0] & 3).isEqualTo(3);
        assertThat(cw[1]).isEqualTo(42);

        long[] pages = AmdCommand.invalidateIommuPages(0xbeef, 0x12345, true, 0x4000, 4096);
        assertThat(AmdCommand.opcode(pages[0])).isEqualTo(3);
        assertThat(pages[0] >>> 32 & 0xffff).isEqualTo(0xbeef);
        assertThat(pages[0] & 0xfffff).isEqualTo(0x12345);
        assertThat(pages[1]).isEqualTo(0x4000 | AmdCommand.INV_PDE | AmdCommand.INV_GN);
        long[] host = AmdCommand.invalidateIommuPages(7, 0x12345, false, 0x4000, 4096);
        assertThat(host[0] & 0xfffff).as("no PASID without GN").isZero();

        assertThat(AmdCommand.invalidateDevtabEntry(0x0108)).containsExactly(2L << 60 | 0x0108, 0);
        assertThat(AmdCommand.invalidateInterruptTable(0x0108)).containsExactly(5L << 60 | 0x0108, 0);
        assertThat(AmdCommand.invalidateIommuAll()).containsExactly(8L << 60, 0);

        long[] iotlb = AmdCommand.invalidateIotlbPages(0x0108, 0x20, 0x1234, true, 0x4000, 4096);
        assertThat(iotlb[0] & 0xffff).isEqualTo(0x0108);
        assertThat(iotlb[0] >>> 16 & 0xff).isEqualTo(0x12);
        assertThat(iotlb[0] >>> 24 & 0xff).isEqualTo(0x20);
        assertThat(iotlb[0] >>> 48 & 0xff).isEqualTo(0x34);
        assertThat(AmdCommand.opcode(iotlb[0])).isEqualTo(4);
    }

    @Test
    void eventRecordsRoundTrip() {
        int flags = AmdEvent.FLAG_GN | AmdEvent.FLAG_RW | AmdEvent.FLAG_PR | AmdEvent.FLAG_PE;
        long q0 = AmdEvent.q0(AmdEvent.IO_PAGE_FAULT, 0x0108, 0xabcde, flags);
        assertThat(q0 >>> 60).isEqualTo(2);
        assertThat(q0 >>> 48 & 0xfff).isEqualTo(flags);
        // Linux reads event[1] bits 31:28 as the type and 27:16 as flags
        int event1 = (int) (q0 >>> 32);
        assertThat(event1 >>> 28 & 0xf).isEqualTo(2);
        assertThat(event1 >>> 16 & 0xfff).isEqualTo(flags);
        assertThat((event1 >>> 16 & 0x020) != 0).as("Linux EVENT_FLAG_RW").isTrue();
        AmdEvent e = AmdEvent.decode(q0, 0xdead_b000L);
        assertThat(e).isEqualTo(new AmdEvent(2, 0x0108, 0xabcde, flags, 0xdead_b000L));
        assertThat(e.name()).isEqualTo("IO_PAGE_FAULT");
        assertThat(e.toString()).contains("01:01.0");
        assertThat(AmdEvent.name(AmdEvent.ILLEGAL_COMMAND_ERROR)).isEqualTo("ILLEGAL_COMMAND_ERROR");
    }

    @Test
    void efrFollowsTheUnitAndOverridesWin() {
        long efr = AmdRegisters.efr(AmdFixture.unit(16, true, true, true, Map.of()));
        assertThat(efr & AmdRegisters.EFR_GT_SUP).isNotZero();
        assertThat(efr & AmdRegisters.EFR_PPR_SUP).isNotZero();
        assertThat(efr & AmdRegisters.EFR_HD_SUP).isNotZero();
        assertThat(efr & AmdRegisters.EFR_HA_SUP).isNotZero();
        assertThat(AmdRegisters.field(efr, AmdRegisters.EFR_PASMAX_SHIFT, 5)).isEqualTo(15);
        assertThat(AmdRegisters.field(efr, AmdRegisters.EFR_GLX_SHIFT, 2)).as("2-level GCR3 for 16 bits").isEqualTo(1);
        assertThat(AmdRegisters.field(efr, AmdRegisters.EFR_HATS_SHIFT, 2)).isEqualTo(2);
        assertThat(AmdRegisters.efr2(AmdFixture.unit(16, true, true, true, Map.of())))
                .isEqualTo(AmdRegisters.EFR2_GCR3_TRP_MODE);

        long plain = AmdRegisters.efr(AmdFixture.unit(0, false, false, false, Map.of()));
        assertThat(plain & (AmdRegisters.EFR_GT_SUP | AmdRegisters.EFR_HD_SUP | AmdRegisters.EFR_PPR_SUP)).isZero();
        assertThat(AmdRegisters.efr(AmdFixture.unit(0, false, false, false, Map.of("EFR", 0x1234L))))
                .isEqualTo(0x1234L);
        assertThat(Gcr3Table.glxFor(512)).isZero();
        assertThat(Gcr3Table.glxFor(513)).isEqualTo(1);
        assertThat(Gcr3Table.glxFor(65535)).isEqualTo(1);
        assertThat(Gcr3Table.glxFor(1 << 20)).isEqualTo(2);
    }
}
