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
            // A uiommu file's mmap (a vIOMMU page) is VM_PFNMAP | VM_IO for the kernel: never pinned.
            return !path.equals("[vvar]") && !path.equals("[vsyscall]") && !path.equals("[vvar_vclock]")
                    && !path.startsWith(SharedFrames.MEMFD_PATH);
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
        int pos = 0;
        int n = text.length();
        while (pos < n) {
            int eol = text.indexOf('\n', pos);
            if (eol < 0) {
                eol = n;
            }
            Vma v = parseLine(text, pos, eol);
            if (v != null) {
                out.add(v);
            }
            pos = eol + 1;
        }
        return new ProcMaps(out);
    }

    /** One line: "start-end perms offset major:minor inode [path]"; null if malformed. */
    private static Vma parseLine(String t, int pos, int eol) {
        try {
            int dash = t.indexOf('-', pos);
            int sp1 = t.indexOf(' ', dash);
            int sp2 = t.indexOf(' ', sp1 + 1);
            int sp3 = t.indexOf(' ', sp2 + 1);
            int colon = t.indexOf(':', sp3);
            int sp4 = t.indexOf(' ', colon);
            int sp5 = t.indexOf(' ', sp4 + 1);
            if (dash < 0 || sp1 < 0 || sp2 < 0 || sp3 < 0 || colon < 0 || sp4 < 0 || sp4 > eol || sp2 - sp1 != 5) {
                return null;
            }
            if (sp5 < 0 || sp5 > eol) {
                sp5 = eol;
            }
            long start = Long.parseUnsignedLong(t, pos, dash, 16);
            long end = Long.parseUnsignedLong(t, dash + 1, sp1, 16);
            long offset = Long.parseUnsignedLong(t, sp2 + 1, sp3, 16);
            long dev = (Long.parseLong(t, sp3 + 1, colon, 16) << 32) | Long.parseLong(t, colon + 1, sp4, 16);
            long inode = Long.parseLong(t, sp4 + 1, sp5, 10);
            String path = sp5 < eol ? t.substring(sp5, eol).strip() : "";
            return new Vma(start, end, t.charAt(sp1 + 1) == 'r', t.charAt(sp1 + 2) == 'w', t.charAt(sp1 + 4) == 's', dev,
                    inode, offset, path);
        } catch (RuntimeException e) {
            return null;
        }
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
