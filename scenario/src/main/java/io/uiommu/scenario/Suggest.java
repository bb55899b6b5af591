package io.uiommu.scenario;

import java.util.Collection;
import java.util.Locale;

/** "Did you mean" hints for misspelt names in scenario files: the closest known name, if it is close. */
final class Suggest {
    private Suggest() {
    }

    /** {@code " (did you mean X?)"}, or the empty string when nothing is close enough. */
    static String didYouMean(String wrong, Collection<String> known) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        String w = wrong.toLowerCase(Locale.ROOT);
        for (String k : known) {
            int d = distance(w, k.toLowerCase(Locale.ROOT));
            if (d < bestDistance) {
                bestDistance = d;
                best = k;
            }
        }
        // A third of the name may differ: catches typos and a missing prefix, not unrelated names.
        if (best == null || bestDistance > Math.max(2, wrong.length() / 3)) {
            return "";
        }
        return " (did you mean " + best + "?)";
    }

    /** Levenshtein distance. */
    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
