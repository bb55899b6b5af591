package io.uiommu.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.Properties;
import java.util.concurrent.Callable;

/** The uiommu command: iommufd (/dev/iommu) in user space. Subcommands do the work. */
@Command(name = "uiommu", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "The Linux iommufd subsystem (/dev/iommu) in user space.",
        subcommands = {ReplayCommand.class, DemoCommand.class, ServeCommand.class, RunCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Callable<Integer> {
    /** Exit status for a command line that cannot be understood (picocli's convention). */
    static final int USAGE = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line and returns the exit status (for tests and embedding). */
    public static int run(String... args) {
        return run(System.out, System.err, args);
    }

    /** Runs a command line with its reports going to {@code out} and usage errors to {@code err}. */
    public static int run(PrintStream out, PrintStream err, String... args) {
        CommandLine.IFactory defaults = CommandLine.defaultFactory();
        CommandLine.IFactory factory = new CommandLine.IFactory() {
            @Override
            public <K> K create(Class<K> cls) throws Exception {
                if (cls == ReplayCommand.class) {
                    return cls.cast(new ReplayCommand(out));
                }
                if (cls == DemoCommand.class) {
                    return cls.cast(new DemoCommand(out));
                }
                return defaults.create(cls);
            }
        };
        CommandLine cl = new CommandLine(new Main(), factory);
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return USAGE;
    }

    /** The version, from the build, and the kernel uAPI it follows. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"uiommu " + version() + " (iommufd uAPI of Linux 6.12)",
                    "Java " + Runtime.version() + ", " + System.getProperty("java.vm.name")};
        }

        static String version() {
            Properties p = new Properties();
            try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
                if (in != null) {
                    p.load(in);
                }
            } catch (IOException e) {
                // Fall through to "unknown": the version line is informative only.
            }
            return p.getProperty("version", "unknown");
        }
    }
}
