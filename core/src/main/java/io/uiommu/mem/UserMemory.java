package io.uiommu.mem;

import io.uiommu.iommufd.IommufdException;

/**
 * A process address space as the kernel sees it (an mm): what {@code user_va} and every pointer
 * inside an ioctl struct point into. Failed accesses throw {@link IommufdException} with EFAULT.
 *
 * <p>Pages are backed by frames of {@link #physical()}; pinning hands out those frames with a pin
 * held, so that a device keeps reaching them after the process unmaps the page (pin_user_pages).
 */
public interface UserMemory {
    long PAGE_SIZE = PhysicalMemory.PAGE_SIZE;

    /** Copies {@code len} bytes at {@code va} into {@code dst}; EFAULT if any byte is unmapped. */
    void read(long va, byte[] dst, int off, int len);

    /** Copies {@code len} bytes into {@code va}; EFAULT if unmapped or not writable. */
    void write(long va, byte[] src, int off, int len);

    /**
     * Pins {@code count} pages starting at the page-aligned {@code va} and stores their frame numbers.
     * All or nothing: EFAULT (nothing pinned) if a page is unmapped, the address space is gone, or
     * {@code writable} is asked of a read-only page.
     */
    void pin(long va, int count, boolean writable, long[] pfns, int off);

    /** Releases pins taken by {@link #pin}. */
    default void unpin(long[] pfns, int off, int count) {
        physical().unpin(pfns, off, count);
    }

    /** The frame currently backing the page at {@code va}, faulting it in; -1 if unmapped. */
    long frameAt(long va);

    /** Where this address space's frames live. */
    PhysicalMemory physical();

    /** False once the owning process has exited: its pages can no longer be pinned. */
    boolean alive();

    /** The pinned-page counter of this mm (mm->pinned_vm, in pages). */
    PageCounter pinnedVm();

    /** The locked-page counter of this mm (mm->locked_vm, in pages). */
    PageCounter lockedVm();

    default long readLong(long va) {
        byte[] b = new byte[8];
        read(va, b, 0, 8);
        return (long) LE_LONG.get(b, 0);
    }

    default int readInt(long va) {
        byte[] b = new byte[4];
        read(va, b, 0, 4);
        return (int) LE_INT.get(b, 0);
    }

    default void writeLong(long va, long value) {
        byte[] b = new byte[8];
        LE_LONG.set(b, 0, value);
        write(va, b, 0, 8);
    }

    default void writeInt(long va, int value) {
        byte[] b = new byte[4];
        LE_INT.set(b, 0, value);
        write(va, b, 0, 4);
    }

    java.lang.invoke.VarHandle LE_LONG =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
    java.lang.invoke.VarHandle LE_INT =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(int[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
}
