package io.uiommu.cli;

/**
 * The nested section of {@code uiommu demo --platform vtd|smmuv3}: a guest stage-1 table built in
 * guest RAM, DMA through it, an invalidation, and the auditor catching a missing one. Each vendor's
 * part uses that vendor's Java API; a model without one yet is skipped.
 */
final class NestingDemo {
    private NestingDemo() {
    }

    /** Runs the section for the platform's first unit; false when its model has none. */
    static boolean run(PlatformDemo demo, int devId, int ioas, long ram) {
        var unit = demo.platform().iommus().getFirst();
        if (!unit.nesting()) {
            return false;
        }
        return switch (unit.model()) {
            // VENDOR MODELS: "vtd" and "smmuv3" sections go here once hw.vtd / hw.smmuv3 are on main.
            default -> false;
        };
    }
}
