package io.uiommu.iommu;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ShortcutCacheTest {
    private final ShortcutCache c = new ShortcutCache();

    @Test
    void aShortcutCountsOnlyInTheEpochItWasMadeIn() {
        assertThat(c.get(0)).as("zeroed slots are no shortcuts, key 0 included").isEqualTo(ShortcutCache.NONE);
        long e = c.epoch();
        c.put(42, 7, e);
        assertThat(c.get(42)).isEqualTo(7);
        assertThat(c.get(43)).isEqualTo(ShortcutCache.NONE);
        c.advance();
        assertThat(c.get(42)).isEqualTo(ShortcutCache.NONE);
        c.put(42, 8, e);
        assertThat(c.get(42)).as("made from what the caches held before the advance").isEqualTo(ShortcutCache.NONE);
        c.put(42, 9, c.epoch());
        assertThat(c.get(42)).isEqualTo(9);
    }

    @Test
    void keysSharingASlotReplaceEachOther() {
        long e = c.epoch();
        long a = 1;
        long b = -1;
        for (long k = 2; b < 0; k++) { // a key that lands in a's slot
            c.put(a, 1, e);
            c.put(k, 2, e);
            if (c.get(a) == ShortcutCache.NONE) {
                b = k;
            }
        }
        assertThat(c.get(b)).isEqualTo(2);
        c.put(a, 1, e);
        assertThat(c.get(a)).isEqualTo(1);
        assertThat(c.get(b)).isEqualTo(ShortcutCache.NONE);
    }
}
