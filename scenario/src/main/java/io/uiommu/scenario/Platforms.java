package io.uiommu.scenario;

import io.uiommu.platform.Platform;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The platforms uiommu ships ("mock", "vtd", "smmuv3", "amd": the files of platforms/ in the
 * repository, packaged as resources) and the one rule every command uses to pick a platform: a
 * preset name, else a platform file.
 */
public final class Platforms {
    /** The presets, in the order help texts list them. */
    public static final List<String> PRESETS = List.of("mock", "vtd", "smmuv3", "amd");
    /** What a machine is built from when nothing names a platform. */
    public static final String DEFAULT = "mock";

    private Platforms() {
    }

    /** A preset by name. */
    public static Platform preset(String name) throws ScenarioException {
        if (!PRESETS.contains(name)) {
            throw new ScenarioException(name, 0, "no preset platform " + name + " (presets: "
                    + String.join(", ", PRESETS) + ")" + Suggest.didYouMean(name, PRESETS));
        }
        String resource = "/io/uiommu/platforms/" + name + ".json";
        try (InputStream in = Platforms.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("preset " + resource + " is missing from the build");
            }
            return PlatformReader.parse("preset " + name, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("cannot read preset " + resource, e);
        }
    }

    /**
     * A preset name or a platform file; a relative file name is looked up in {@code baseDir} (the
     * directory of the scenario that names it) when given, else in the working directory.
     */
    public static Platform load(String nameOrFile, Path baseDir) throws ScenarioException {
        if (PRESETS.contains(nameOrFile)) {
            return preset(nameOrFile);
        }
        Path p = Path.of(nameOrFile);
        if (baseDir != null && !p.isAbsolute()) {
            p = baseDir.resolve(p);
        }
        if (!Files.exists(p)) {
            throw new ScenarioException(nameOrFile, 0, "neither a preset platform (" + String.join(", ", PRESETS)
                    + ") nor a platform file" + Suggest.didYouMean(nameOrFile, PRESETS));
        }
        return PlatformReader.read(p);
    }
}
