package io.uiommu.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A process's mappings as /proc/PID/maps lists them: what pin_user_pages would find there
 * (permissions, and for shared mappings the file and offset, which is how two processes' views
 * of one shared page are recognised).
 *
 * <p>Locking: immutable snapshot.
 */
final class ProcMaps {
    /** One mapping: [start, end), permissions, and the backing object (dev, inode, offset). */
    record Vma(long start, long end, boolean read, boolean write, boolean shared, long dev, long inode,
            long offset, String path) {
        boolean contains(long va) {
            return Long.compareUnsigned(va, start) >= 0 && Long.compareUnsigned(va, end) < 0;
        }

        /** The backing object's offset of the page at va. */
        long offsetOf(long va) {
            return offset + (va - start);
        }

        /** A hugetlb mapping (MAP_HUGETLB): its pages are physically contiguous 2 MiB pages. */
        boolean huge() {
            return path.startsWith("/anon_hugepage");
        }

        /** Pages the kernel refuses to pin (device and raw PFN mappings, the vsyscall page). */
        boolean pinnable() {
            return !path.equals("[vvar]") && !path.equals("[vsyscall]") && !path.equals("[vvar_vclock]");
        }
    }

    private final List<Vma> vmas;

    private ProcMaps(List<Vma> vmas) {
        this.vmas = vmas;
    }

    /** The current mappings of pid, or null if the process is gone. */
    static ProcMaps of(int pid) {
        byte[] text;
        try {
            text = Files.readAllBytes(Path.of("/proc/" + pid + "/maps"));
        } catch (IOException e) {
            return null;
        }
        return parse(new String(text, StandardCharsets.ISO_8859_1));
    }

    static ProcMaps parse(String text) {
        List<Vma> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            // start-end perms offset major:minor inode [path]
            String[] f = line.split("\\s+", 6);
            if (f.length < 5) {
                continue;
            }
            int dash = f[0].indexOf('-');
            long start = Long.parseUnsignedLong(f[0], 0, dash, 16);
            long end = Long.parseUnsignedLong(f[0], dash + 1, f[0].length(), 16);
            String perms = f[1];
            long offset = Long.parseUnsignedLong(f[2], 16);
            int colon = f[3].indexOf(':');
            long dev = (Long.parseLong(f[3], 0, colon, 16) << 32) | Long.parseLong(f[3], colon + 1, f[3].length(), 16);
            long inode = Long.parseLong(f[4]);
            String path = f.length > 5 ? f[5].trim() : "";
            out.add(new Vma(start, end, perms.charAt(0) == 'r', perms.charAt(1) == 'w', perms.charAt(3) == 's', dev, inode,
                    offset, path));
        }
        return new ProcMaps(out);
    }

    /** The mapping containing va, or null. */
    Vma find(long va) {
        int lo = 0;
        int hi = vmas.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            Vma v = vmas.get(mid);
            if (Long.compareUnsigned(va, v.start) < 0) {
                hi = mid - 1;
            } else if (Long.compareUnsigned(va, v.end) >= 0) {
                lo = mid + 1;
            } else {
                return v;
            }
        }
        return null;
    }

    /** A shared mapping of the backing object (dev, inode) that covers its offset, or null. */
    Vma findShared(long dev, long inode, long offset) {
        for (Vma v : vmas) {
            if (v.shared && v.dev == dev && v.inode == inode && Long.compareUnsigned(offset, v.offset) >= 0
                    && Long.compareUnsigned(offset - v.offset, v.end - v.start) < 0) {
                return v;
            }
        }
        return null;
    }
}
