package io.uiommu.cli;

import java.io.PrintStream;

/** The demo's script. Placeholder until the core it shows off exists. */
final class Demo {
    private Demo() {
    }

    static void run(PrintStream out) {
        out.println("demo: not yet written");
    }
}
