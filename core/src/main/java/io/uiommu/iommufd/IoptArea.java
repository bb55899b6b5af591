package io.uiommu.iommufd;

/**
 * A mapped range of an io_pagetable (struct iopt_area): IOVA [iova, last] backed by bytes
 * [startByte, startByte + length) of an {@link IoptPages}. Areas of one table never overlap.
 *
 * <p>Locking: guarded by the owning context's lock.
 */
final class IoptArea {
    final long iova;
    final long last;
    final IoptPages pages;
    final long startByte;
    final int iommuProt;
    /** Access pins held in this area; unmap must ask their owners to unpin first. */
    int numAccesses;
    /** HW queue style locks: unmap is refused while held. */
    int numLocks;

    IoptArea(long iova, long last, IoptPages pages, long startByte, int iommuProt) {
        this.iova = iova;
        this.last = last;
        this.pages = pages;
        this.startByte = startByte;
        this.iommuProt = iommuProt;
    }

    long length() {
        return last - iova + 1;
    }

    /** Byte offset in the pages object that backs {@code at}. */
    long startByte(long at) {
        return startByte + (at - iova);
    }

    long pageOffset() {
        return startByte % IoptPages.PAGE_SIZE;
    }

    int indexOf(long at) {
        return (int) (startByte(at) / IoptPages.PAGE_SIZE);
    }

    int firstIndex() {
        return (int) (startByte / IoptPages.PAGE_SIZE);
    }

    int lastIndex() {
        return (int) ((startByte + length() - 1) / IoptPages.PAGE_SIZE);
    }
}
