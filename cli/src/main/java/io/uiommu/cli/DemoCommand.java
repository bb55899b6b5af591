package io.uiommu.cli;

import io.uiommu.platform.Platform;
import io.uiommu.scenario.ScenarioException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.io.PrintStream;
import java.util.concurrent.Callable;

/**
 * {@code uiommu demo}: a short tour of iommufd on the mock IOMMU, printed as it goes; with
 * {@code --platform}, a tour of a platform's devices: bind, attach, DMA through the IOMMU model,
 * nesting where the model has it, and the stale-translation auditor.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Show iommufd at work on the mock IOMMU: IOAS, device, mappings, DMA.",
                "With --platform: bind a platform device, attach it and DMA through the IOMMU model."})
final class DemoCommand implements Callable<Integer> {
    @Mixin
    PlatformOption platformOption = new PlatformOption();

    private final PrintStream out;

    DemoCommand() {
        this(System.out);
    }

    DemoCommand(PrintStream out) {
        this.out = out;
    }

    @Override
    public Integer call() {
        if (platformOption.given() == null) {
            return Demo.run(out);
        }
        Platform p;
        try {
            p = platformOption.load();
        } catch (ScenarioException e) {
            out.println("uiommu demo: --platform " + e.getMessage());
            return 1;
        }
        return PlatformDemo.run(out, p);
    }
}
