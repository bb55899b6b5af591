package io.uiommu.server;

import io.uiommu.mem.PhysicalMemory;

import java.util.Arrays;

/**
 * A frame whose bytes are still a page of a client process: pinned there, read and written there
 * (device DMA, access reads, page walks), until uiommu takes the bytes over because the client
 * unmaps the page or exits. A page of a shared mapping can move to another client that maps the
 * same object instead, so the device keeps seeing what that page holds, as with a kernel pin.
 *
 * <p>Locking: placement fields are guarded by {@link ClientFrames}; the location is volatile so
 * byte accesses need no lock.
 */
final class ClientFrame implements PhysicalMemory.ExternalBytes {
    /** Where the page is: a client process and the address it has there. */
    record Location(ClientMemory memory, long va) {
    }

    volatile Location at;
    long pfn;
    /** Placed in its memory's guest list rather than its identity map. */
    boolean guest;
    /** One of the contiguous frames of a huge page: kept while mapped, even unpinned. */
    boolean huge;
    /** For a page of a shared mapping: the backing object (device, inode) and the page's offset in it. */
    final boolean shared;
    final long dev;
    final long inode;
    final long offset;

    ClientFrame(ClientMemory memory, long va, ProcMaps.Vma vma) {
        this.at = new Location(memory, va);
        this.shared = vma != null && vma.shared();
        this.dev = shared ? vma.dev() : 0;
        this.inode = shared ? vma.inode() : 0;
        this.offset = shared ? vma.offsetOf(va) : 0;
    }

    @Override
    public void read(int inPage, byte[] dst, int off, int len) {
        Location l = at;
        if (!RemoteIo.current().read(l.memory().pid, l.va() + inPage, dst, off, len)) {
            Arrays.fill(dst, off, off + len, (byte) 0);
        }
        ClientMemory.touched(CallListener.TouchKind.READ, l.memory().pid, l.va() + inPage, dst, off, len, len);
    }

    @Override
    public void write(int inPage, byte[] src, int off, int len) {
        Location l = at;
        RemoteIo.current().write(l.memory().pid, l.va() + inPage, src, off, len);
        ClientMemory.touched(CallListener.TouchKind.WRITE, l.memory().pid, l.va() + inPage, src, off, len, len);
    }
}
