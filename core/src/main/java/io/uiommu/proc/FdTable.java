package io.uiommu.proc;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;

import java.util.Arrays;

/**
 * A process's file descriptor table: lowest free number first, as the kernel allocates. Simulated
 * processes start with 0, 1 and 2 taken, so numbers look like a C program's. The daemon extends it:
 * there the numbers are the client's real fds, installed and resolved in the client process.
 *
 * <p>Locking: this object's monitor.
 */
public class FdTable {
    private OpenFile[] files = new OpenFile[64];

    public FdTable() {
        Arrays.fill(files, 0, 3, StdioPlaceholder.INSTANCE);
    }

    /** Installs a file (the table takes over the caller's reference) and returns its number. */
    public synchronized int install(OpenFile file) {
        for (int fd = 0; ; fd++) {
            if (fd == files.length) {
                files = Arrays.copyOf(files, files.length * 2);
            }
            if (files[fd] == null) {
                files[fd] = file;
                return fd;
            }
        }
    }

    /** The file behind fd, or EBADF. */
    public synchronized OpenFile get(int fd) {
        OpenFile f = fd >= 0 && fd < files.length ? files[fd] : null;
        if (f == null) {
            throw new IommufdException(Errno.EBADF, "bad fd " + fd);
        }
        return f;
    }

    /** close(2). */
    public void close(int fd) {
        OpenFile f;
        synchronized (this) {
            f = get(fd);
            files[fd] = null;
        }
        f.put();
    }

    /** dup(2). */
    public int dup(int fd) {
        OpenFile f = get(fd);
        f.get();
        return install(f);
    }

    /** A copy for fork: every file gains a reference. */
    public synchronized FdTable copy() {
        FdTable t = new FdTable();
        t.files = Arrays.copyOf(files, files.length);
        for (OpenFile f : t.files) {
            if (f != null && f != StdioPlaceholder.INSTANCE) {
                f.get();
            }
        }
        return t;
    }

    /** Closes every fd (process exit). */
    public void closeAll() {
        for (int fd = 0; ; fd++) {
            OpenFile f;
            synchronized (this) {
                if (fd >= files.length) {
                    return;
                }
                f = files[fd];
                files[fd] = null;
            }
            if (f != null && f != StdioPlaceholder.INSTANCE) {
                f.put();
            }
        }
    }

    private static final class StdioPlaceholder extends OpenFile {
        static final StdioPlaceholder INSTANCE = new StdioPlaceholder();

        @Override
        public String name() {
            return "/dev/null";
        }

        @Override
        protected void release() {
        }
    }
}
