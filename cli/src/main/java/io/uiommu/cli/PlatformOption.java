package io.uiommu.cli;

import io.uiommu.platform.Platform;
import io.uiommu.scenario.Platforms;
import io.uiommu.scenario.ScenarioException;
import picocli.CommandLine.Option;

/**
 * {@code --platform NAME|FILE}, the machine a command builds: a preset ("mock", "vtd", "smmuv3",
 * "amd") or a platform file (docs/platforms.md). A picocli mixin: a command adds it with
 * {@code @Mixin PlatformOption platform;} and calls {@link #load()}.
 */
public final class PlatformOption {
    @Option(names = "--platform", paramLabel = "NAME|FILE",
            description = "Machine to build: a preset (mock, vtd, smmuv3, amd) or a platform file (JSON).")
    String platform;

    /** The name or file given, or null when the option was not used. */
    public String given() {
        return platform;
    }

    /** The platform given, or null when the option was not used. */
    public Platform load() throws ScenarioException {
        return platform == null ? null : Platforms.load(platform, null);
    }
}
