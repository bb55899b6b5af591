package io.uiommu.server;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Finds the LD_PRELOAD shim (libuiommu-shim.so, built from native/ by the Maven build and packaged
 * with this module). From a jar it is copied once to a private cache directory, named by its
 * content hash, since the dynamic loader needs a file.
 *
 * <p>Locking: class-level monitor around the extraction.
 */
public final class ShimLibrary {
    /** The name of the shim in this package's resources. */
    public static final String RESOURCE = "libuiommu-shim.so";

    private static Path cached;

    private ShimLibrary() {
    }

    /** The shim as a file, or IOException if this build has none (it needs a C compiler). */
    public static synchronized Path path() throws IOException {
        if (cached != null && Files.isRegularFile(cached)) {
            return cached;
        }
        URL url = ShimLibrary.class.getResource(RESOURCE);
        if (url == null) {
            throw new IOException(RESOURCE + " is not in this build (the server module builds it with cc)");
        }
        if ("file".equals(url.getProtocol())) {
            try {
                cached = Path.of(url.toURI());
                return cached;
            } catch (URISyntaxException e) {
                throw new IOException(e);
            }
        }
        byte[] bytes;
        try (InputStream in = url.openStream()) {
            bytes = in.readAllBytes();
        }
        String hash;
        try {
            hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IOException(e);
        }
        Path dir = cacheDir();
        Path target = dir.resolve("libuiommu-shim-" + hash + ".so");
        if (!Files.isRegularFile(target) || Files.size(target) != bytes.length) {
            Path tmp = Files.createTempFile(dir, "shim", ".tmp");
            Files.write(tmp, bytes);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        cached = target;
        return target;
    }

    private static Path cacheDir() throws IOException {
        String runtime = System.getenv("XDG_RUNTIME_DIR");
        Path base = runtime != null && !runtime.isEmpty() ? Path.of(runtime)
                : Path.of(System.getProperty("java.io.tmpdir"), "uiommu-" + Native.getuid());
        Path dir = base.resolve("uiommu");
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        // Someone else's directory could hand us their library: only our own will do.
        if ((int) Files.getAttribute(dir, "unix:uid") != Native.getuid()) {
            throw new IOException(dir + " belongs to another user");
        }
        return dir;
    }
}
