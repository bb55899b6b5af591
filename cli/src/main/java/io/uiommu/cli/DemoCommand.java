package io.uiommu.cli;

import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

/** {@code uiommu demo}: a short tour of iommufd on the mock IOMMU, printed as it goes. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Show iommufd at work on the mock IOMMU: IOAS, device, mappings, DMA.")
final class DemoCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        return Demo.run(System.out);
    }
}
