package io.uiommu.mem;

import java.util.Arrays;

/**
 * Sparse simulated physical memory of 4 KiB frames, addresses below 2^52. A frame's bytes are
 * allocated on first touch; its reference count (mappings plus pins) decides when a frame allocated
 * by {@link #allocateFrame()} returns to the free list. Pins are counted separately because the
 * kernel's selftest observes them (MD_CHECK_REFS). A frame may keep its bytes elsewhere
 * ({@link ExternalBytes}: a page still in a client process, for the daemon) until its owner
 * {@link #internalize internalizes} them.
 *
 * <p>Locking: reference and pin counts change under this object's monitor; frame bytes are read
 * and written without locks, as real memory is, except that aligned 64-bit stores and
 * compare-and-set take the frame's monitor so that they are atomic with respect to each other.
 */
public final class PhysicalMemory {
    public static final int PAGE_SHIFT = 12;
    public static final int PAGE_SIZE = 1 << PAGE_SHIFT;
    public static final long MAX_ADDRESS = 1L << 52;

    /** Told about every write through this object (the stale-translation auditor watches descriptors). */
    public interface WriteObserver {
        void written(long pa, long length);
    }

    private volatile WriteObserver writeObserver;

    /**
     * Where the bytes of an external frame live (a page still in a client process). Accesses never
     * cross the page; a backend that can no longer reach its bytes reads zeros and drops writes.
     */
    public interface ExternalBytes {
        void read(int inPage, byte[] dst, int off, int len);

        void write(int inPage, byte[] src, int off, int len);
    }

    public void setWriteObserver(WriteObserver observer) {
        this.writeObserver = observer;
    }

    private static final int CHUNK_SHIFT = 14;
    private static final int CHUNK_FRAMES = 1 << CHUNK_SHIFT;
    private static final int CHUNK_MASK = CHUNK_FRAMES - 1;

    /** Per-frame state for 2^14 consecutive frames. */
    private static final class Chunk {
        final long index;
        final byte[][] data = new byte[CHUNK_FRAMES][];
        final int[] refs = new int[CHUNK_FRAMES];
        final int[] pins = new int[CHUNK_FRAMES];
        final ExternalBytes[] external = new ExternalBytes[CHUNK_FRAMES];

        Chunk(long index) {
            this.index = index;
        }
    }

    // Open-addressed table of chunks keyed by pfn >>> CHUNK_SHIFT; the last chunk is cached. The
    // table is copied on insert (rare: once per 64 MiB touched) so lookups need no lock: a nested
    // walk alternates between guest RAM and table memory, a new chunk on every other read.
    private volatile Chunk[] table = new Chunk[64];
    private int chunkCount;
    private volatile Chunk lastChunk;

    /** Frames handed out by allocateFrame start here, far from addresses a platform places tables at. */
    private static final long FIRST_ALLOCATED_PFN = 1L << 20;
    private long nextFreshPfn = FIRST_ALLOCATED_PFN;
    private long[] freePfns = new long[256];
    private int freeCount;
    private long framesInUse;

    private Chunk chunk(long pfn, boolean create) {
        long index = pfn >>> CHUNK_SHIFT;
        Chunk c = lastChunk;
        if (c != null && c.index == index) {
            return c;
        }
        c = find(table, index);
        if (c == null && create) {
            synchronized (this) {
                c = find(table, index);
                if (c == null) {
                    c = insert(index);
                }
            }
        }
        if (c != null) {
            lastChunk = c;
        }
        return c;
    }

    private static Chunk find(Chunk[] t, long index) {
        int mask = t.length - 1;
        for (int i = (int) mix(index) & mask; ; i = (i + 1) & mask) {
            Chunk c = t[i];
            if (c == null || c.index == index) {
                return c;
            }
        }
    }

    private Chunk insert(long index) {
        Chunk[] old = table;
        Chunk[] t = new Chunk[(chunkCount + 1) * 2 > old.length ? old.length * 2 : old.length];
        for (Chunk c : old) {
            if (c != null) {
                place(t, c);
            }
        }
        Chunk c = new Chunk(index);
        place(t, c);
        chunkCount++;
        table = t;
        return c;
    }

    private static void place(Chunk[] t, Chunk c) {
        int mask = t.length - 1;
        int i = (int) mix(c.index) & mask;
        while (t[i] != null) {
            i = (i + 1) & mask;
        }
        t[i] = c;
    }

    private static long mix(long x) {
        x *= 0x9E3779B97F4A7C15L;
        return x ^ (x >>> 29);
    }

    private static void checkAddress(long pa, long len) {
        if (pa < 0 || len < 0 || pa + len > MAX_ADDRESS || pa + len < pa) {
            throw new IllegalArgumentException("physical address out of range: 0x" + Long.toHexString(pa));
        }
    }

    /** A zeroed frame with one reference, owned by the caller. */
    public synchronized long allocateFrame() {
        long pfn = freeCount > 0 ? freePfns[--freeCount] : nextFreshPfn++;
        Chunk c = chunk(pfn, true);
        int i = (int) (pfn & CHUNK_MASK);
        c.refs[i] = 1;
        c.pins[i] = 0;
        c.data[i] = null;
        c.external[i] = null;
        framesInUse++;
        return pfn;
    }

    /**
     * {@code frames} (a power of two) physically contiguous zeroed frames aligned to their total
     * size, each with one reference: tables bigger than a page (Arm 16K/64K granules, concatenated
     * stage-2 roots) need them. Returns the first pfn; frames are freed one by one with {@link #put}.
     */
    public synchronized long allocateContiguous(int frames) {
        if (frames <= 0 || (frames & (frames - 1)) != 0) {
            throw new IllegalArgumentException("frame count must be a power of two: " + frames);
        }
        if (frames == 1) {
            return allocateFrame();
        }
        long first = (nextFreshPfn + frames - 1) & -(long) frames;
        for (long pfn = nextFreshPfn; pfn < first; pfn++) {
            if (freeCount == freePfns.length) {
                freePfns = Arrays.copyOf(freePfns, freeCount * 2);
            }
            freePfns[freeCount++] = pfn;
        }
        nextFreshPfn = first + frames;
        for (long pfn = first; pfn < first + frames; pfn++) {
            Chunk c = chunk(pfn, true);
            int i = (int) (pfn & CHUNK_MASK);
            c.refs[i] = 1;
            c.pins[i] = 0;
            c.data[i] = null;
            c.external[i] = null;
        }
        framesInUse += frames;
        return first;
    }

    /** Like {@link #allocateFrame()}, for a frame whose bytes live in {@code bytes} until internalized. */
    public synchronized long allocateExternalFrame(ExternalBytes bytes) {
        long pfn = allocateFrame();
        chunk(pfn, false).external[(int) (pfn & CHUNK_MASK)] = bytes;
        return pfn;
    }

    /**
     * Physically contiguous external frames, one per backend, the first aligned to their count (a
     * power of two): a huge page of a client stays one huge page for the IOMMU.
     */
    public synchronized long allocateExternalFrames(ExternalBytes[] bytes) {
        int n = bytes.length;
        if (n == 0 || (n & (n - 1)) != 0) {
            throw new IllegalArgumentException("count must be a power of two");
        }
        long first = (nextFreshPfn + n - 1) & -(long) n;
        // Frames skipped for alignment go to the free list.
        for (long pfn = nextFreshPfn; pfn < first; pfn++) {
            if (freeCount == freePfns.length) {
                freePfns = Arrays.copyOf(freePfns, freeCount * 2);
            }
            freePfns[freeCount++] = pfn;
        }
        nextFreshPfn = first + n;
        for (int k = 0; k < n; k++) {
            long pfn = first + k;
            Chunk c = chunk(pfn, true);
            int i = (int) (pfn & CHUNK_MASK);
            c.refs[i] = 1;
            c.pins[i] = 0;
            c.data[i] = null;
            c.external[i] = bytes[k];
        }
        framesInUse += n;
        return first;
    }

    /** The backend of an external frame, or null for a frame whose bytes live here. */
    public ExternalBytes external(long pfn) {
        Chunk c = chunk(pfn, false);
        return c == null ? null : c.external[(int) (pfn & CHUNK_MASK)];
    }

    /** Takes over the bytes of an external frame (a copy of its page): from now on they live here. */
    public synchronized void internalize(long pfn, byte[] page) {
        if (page.length != PAGE_SIZE) {
            throw new IllegalArgumentException("a frame is one page");
        }
        Chunk c = chunk(pfn, false);
        int i = (int) (pfn & CHUNK_MASK);
        if (c == null || c.external[i] == null) {
            throw new IllegalStateException("not an external frame 0x" + Long.toHexString(pfn));
        }
        c.data[i] = page.clone();
        c.external[i] = null;
    }

    /**
     * The reverse of {@link #internalize}: the frame's bytes are copied to {@code bytes} and live
     * there from now on (a page the daemon shares with a client through a memfd mapping); its
     * references and pins stay. A store racing the move may be lost: move frames while they are quiet.
     */
    public synchronized void externalize(long pfn, ExternalBytes bytes) {
        Chunk c = chunk(pfn, false);
        int i = (int) (pfn & CHUNK_MASK);
        if (c == null || c.refs[i] <= 0 || bytes == null) {
            throw new IllegalStateException("not an allocated frame 0x" + Long.toHexString(pfn));
        }
        byte[] page = new byte[PAGE_SIZE];
        if (c.data[i] != null) {
            System.arraycopy(c.data[i], 0, page, 0, PAGE_SIZE);
        } else if (c.external[i] != null) {
            c.external[i].read(0, page, 0, PAGE_SIZE);
        }
        bytes.write(0, page, 0, PAGE_SIZE);
        c.external[i] = bytes;
        c.data[i] = null;
    }

    /** Takes one more reference on an allocated frame. */
    public synchronized void get(long pfn) {
        chunk(pfn, true).refs[(int) (pfn & CHUNK_MASK)]++;
    }

    /** Drops a reference; the last one frees the frame and its bytes. */
    public synchronized void put(long pfn) {
        Chunk c = chunk(pfn, false);
        int i = (int) (pfn & CHUNK_MASK);
        if (c == null || c.refs[i] <= 0) {
            throw new IllegalStateException("put of an unreferenced frame 0x" + Long.toHexString(pfn));
        }
        if (--c.refs[i] == 0 && pfn >= FIRST_ALLOCATED_PFN) {
            c.data[i] = null;
            c.external[i] = null;
            framesInUse--;
            if (freeCount == freePfns.length) {
                freePfns = Arrays.copyOf(freePfns, freeCount * 2);
            }
            freePfns[freeCount++] = pfn;
        }
    }

    /** Pins frames (a pin is also a reference), as pin_user_pages does. */
    public synchronized void pin(long[] pfns, int offset, int count) {
        for (int k = 0; k < count; k++) {
            long pfn = pfns[offset + k];
            Chunk c = chunk(pfn, true);
            int i = (int) (pfn & CHUNK_MASK);
            c.pins[i]++;
            c.refs[i]++;
        }
    }

    /** Undoes {@link #pin}. */
    public synchronized void unpin(long[] pfns, int offset, int count) {
        for (int k = 0; k < count; k++) {
            long pfn = pfns[offset + k];
            Chunk c = chunk(pfn, false);
            int i = (int) (pfn & CHUNK_MASK);
            if (c == null || c.pins[i] <= 0) {
                throw new IllegalStateException("unpin of an unpinned frame 0x" + Long.toHexString(pfn));
            }
            c.pins[i]--;
            put(pfn);
        }
    }

    public void pin(long pfn) {
        pin(new long[] {pfn}, 0, 1);
    }

    public void unpin(long pfn) {
        unpin(new long[] {pfn}, 0, 1);
    }

    /** How many long-term pins hold the frame. */
    public synchronized int pinCount(long pfn) {
        Chunk c = chunk(pfn, false);
        return c == null ? 0 : c.pins[(int) (pfn & CHUNK_MASK)];
    }

    /** Frames currently allocated by {@link #allocateFrame()}. */
    public synchronized long framesInUse() {
        return framesInUse;
    }

    private byte[] frameBytes(long pfn, boolean create) {
        Chunk c = chunk(pfn, create);
        if (c == null) {
            return null;
        }
        int i = (int) (pfn & CHUNK_MASK);
        byte[] d = c.data[i];
        if (d == null && create && c.external[i] == null) {
            synchronized (this) {
                d = c.data[i];
                if (d == null) {
                    d = new byte[PAGE_SIZE];
                    c.data[i] = d;
                }
            }
        }
        return d;
    }

    /** Copies bytes out of physical memory; untouched memory reads as zero. */
    public void read(long pa, byte[] dst, int off, int len) {
        checkAddress(pa, len);
        while (len > 0) {
            int inPage = (int) (pa & (PAGE_SIZE - 1));
            int n = Math.min(len, PAGE_SIZE - inPage);
            byte[] d = frameBytes(pa >>> PAGE_SHIFT, false);
            ExternalBytes x;
            if (d != null) {
                System.arraycopy(d, inPage, dst, off, n);
            } else if ((x = external(pa >>> PAGE_SHIFT)) != null) {
                x.read(inPage, dst, off, n);
            } else {
                Arrays.fill(dst, off, off + n, (byte) 0);
            }
            pa += n;
            off += n;
            len -= n;
        }
    }

    /** Copies bytes into physical memory. */
    public void write(long pa, byte[] src, int off, int len) {
        checkAddress(pa, len);
        WriteObserver observer = writeObserver;
        if (observer != null) {
            observer.written(pa, len);
        }
        while (len > 0) {
            int inPage = (int) (pa & (PAGE_SIZE - 1));
            int n = Math.min(len, PAGE_SIZE - inPage);
            byte[] d = frameBytes(pa >>> PAGE_SHIFT, true);
            if (d != null) {
                System.arraycopy(src, off, d, inPage, n);
            } else {
                external(pa >>> PAGE_SHIFT).write(inPage, src, off, n);
            }
            pa += n;
            off += n;
            len -= n;
        }
    }

    /** Reads a little-endian 64-bit word (page tables and descriptors are little-endian). */
    public long readLong(long pa) {
        checkAddress(pa, 8);
        if ((pa & 7) == 0) {
            byte[] d = frameBytes(pa >>> PAGE_SHIFT, false);
            if (d != null || external(pa >>> PAGE_SHIFT) == null) {
                return d == null ? 0 : (long) LE_LONG.get(d, (int) (pa & (PAGE_SIZE - 1)));
            }
        }
        byte[] b = new byte[8];
        read(pa, b, 0, 8);
        return (long) LE_LONG.get(b, 0);
    }

    /** Writes a little-endian 64-bit word. */
    public void writeLong(long pa, long value) {
        checkAddress(pa, 8);
        if ((pa & 7) == 0) {
            WriteObserver observer = writeObserver;
            byte[] d = frameBytes(pa >>> PAGE_SHIFT, true);
            if (d != null) {
                if (observer != null) {
                    observer.written(pa, 8);
                }
                // Same monitor as compareAndSetLong: a hardware A/D update must not undo this store.
                synchronized (d) {
                    LE_LONG.set(d, (int) (pa & (PAGE_SIZE - 1)), value);
                }
                return;
            }
        }
        byte[] b = new byte[8];
        LE_LONG.set(b, 0, value);
        write(pa, b, 0, 8);
    }

    /** Atomically replaces an aligned 64-bit word (hardware A/D-bit updates); returns whether it did. */
    public boolean compareAndSetLong(long pa, long expected, long value) {
        checkAddress(pa, 8);
        if ((pa & 7) != 0) {
            throw new IllegalArgumentException("unaligned atomic access at 0x" + Long.toHexString(pa));
        }
        WriteObserver observer = writeObserver;
        if (observer != null) {
            observer.written(pa, 8);
        }
        byte[] d = frameBytes(pa >>> PAGE_SHIFT, true);
        if (d == null) {
            // A page still in a client process: compare and write are separate remote accesses there.
            ExternalBytes x = external(pa >>> PAGE_SHIFT);
            byte[] b = new byte[8];
            x.read((int) (pa & (PAGE_SIZE - 1)), b, 0, 8);
            if ((long) LE_LONG.get(b, 0) != expected) {
                return false;
            }
            LE_LONG.set(b, 0, value);
            x.write((int) (pa & (PAGE_SIZE - 1)), b, 0, 8);
            return true;
        }
        // Byte-array views support no atomic access modes (heap byte[] is not 8-aligned), so the
        // compare and the store happen under the frame's monitor, which aligned writeLong takes too.
        int at = (int) (pa & (PAGE_SIZE - 1));
        synchronized (d) {
            if ((long) LE_LONG.get(d, at) != expected) {
                return false;
            }
            LE_LONG.set(d, at, value);
            return true;
        }
    }

    private static final java.lang.invoke.VarHandle LE_LONG =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
}
