package io.uiommu.hw.vtd;

import io.uiommu.pt.PageTableFormat;
import io.uiommu.pt.VtdSecondStageTable;
import io.uiommu.pt.X86PageTable;

/**
 * The page-table formats VT-d walks: second stage (VT-d SS format, 3/4/5 levels for AGAW
 * 39/48/57) and first stage (x86-64 paging, 4 or 5 levels). Shared instances: formats are stateless.
 *
 * <p>Locking: immutable.
 */
final class VtdFormats {
    private static final PageTableFormat[] SECOND = new PageTableFormat[6];
    private static final PageTableFormat[] FIRST = new PageTableFormat[6];

    static {
        for (int levels = 3; levels <= 5; levels++) {
            SECOND[levels] = new VtdSecondStageTable(levels);
        }
        FIRST[4] = new X86PageTable(4);
        FIRST[5] = new X86PageTable(5);
    }

    private VtdFormats() {
    }

    static PageTableFormat secondStage(int levels) {
        return SECOND[levels];
    }

    static PageTableFormat firstStage(int levels) {
        return FIRST[levels];
    }
}
