package io.uiommu.pt;

import java.util.ArrayList;
import java.util.List;

/** Further formats for {@link FormatRandomizedTest}, added as they land. */
final class FormatCases {
    private FormatCases() {
    }

    static List<FormatRandomizedTest.Case> more() {
        return new ArrayList<>();
    }
}
