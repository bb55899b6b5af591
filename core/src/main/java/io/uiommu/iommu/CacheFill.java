package io.uiommu.iommu;

import io.uiommu.pt.Walk;

/**
 * The descriptor words a cached translation entry (IOTLB, PASID cache, context cache) was filled
 * from, and the step that filled it: what the {@link StaleTranslationAuditor} compares on a hit.
 * Filled only in audit mode; a cache entry keeps one and reuses it.
 */
public final class CacheFill {
    public static final int MAX_WORDS = 96;

    final long[] address = new long[MAX_WORDS];
    final long[] value = new long[MAX_WORDS];
    int count;
    String filledAt;

    /** Starts a new fill at the auditor's current step. */
    public CacheFill begin(StaleTranslationAuditor auditor) {
        count = 0;
        filledAt = auditor.currentStep();
        return this;
    }

    /** Adds one descriptor word the entry depends on. */
    public void add(StaleTranslationAuditor auditor, long pa, long word) {
        if (count < MAX_WORDS) {
            address[count] = pa;
            value[count] = word;
            count++;
            auditor.watch(pa);
        }
    }

    /** Adds every descriptor a walk recorded ({@link Walk#record} must have been set). */
    public void addWalk(StaleTranslationAuditor auditor, Walk walk) {
        for (int i = 0; i < walk.recorded; i++) {
            add(auditor, walk.recordedAddress[i], walk.recordedValue[i]);
        }
    }

    public int words() {
        return count;
    }
}
