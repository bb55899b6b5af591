package io.uiommu.pt;

import java.util.ArrayList;
import java.util.List;

/** Further formats for {@link FormatRandomizedTest}, added as they land. */
final class FormatCases {
    private FormatCases() {
    }

    static List<FormatRandomizedTest.Case> more() {
        List<FormatRandomizedTest.Case> cases = new ArrayList<>();
        cases.add(new FormatRandomizedTest.Case(ArmLpaeTable.stage1(4096, 48, 48, true), 0x7F_0000_0000L, 1L << 33));
        cases.add(new FormatRandomizedTest.Case(ArmLpaeTable.stage1(16384, 47, 48, true), 0x10_0000_0000L, 1L << 33));
        cases.add(new FormatRandomizedTest.Case(ArmLpaeTable.stage1(65536, 42, 48, true), 0x100_0000_0000L, 1L << 34));
        cases.add(new FormatRandomizedTest.Case(ArmLpaeTable.stage2(4096, 40, 1, 48, true), 0x7E_0000_0000L, 1L << 33));
        cases.add(new FormatRandomizedTest.Case(ArmLpaeTable.stage2(16384, 40, 2, 44, true), 0x80_0000_0000L - (1L << 33), 1L << 33));
        cases.add(new FormatRandomizedTest.Case(ArmLpaeTable.stage2(65536, 46, 2, 48, true), 0x3F00_0000_0000L, 1L << 34));
        cases.add(new FormatRandomizedTest.Case(new AmdV1PageTable(3), 0x10_0000_0000L, 1L << 33));
        cases.add(new FormatRandomizedTest.Case(new AmdV1PageTable(4), 0x7F_0000_0000L, 1L << 33));
        cases.add(new FormatRandomizedTest.Case(new AmdV1PageTable(6), 0xFF00_0000_0000_0000L, 1L << 33));
        return cases;
    }
}
