package io.uiommu.uapi;

import io.uiommu.iommufd.Access;
import io.uiommu.iommufd.IommufdContext;
import io.uiommu.proc.OpenFile;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The selftest's access fd ("[iommufd_test_staccess]"): owns one access object and the page pins
 * it took (items with IDs). The unmap callback drops every item in the range; closing the fd
 * drops them all and destroys the access.
 *
 * <p>Locking: under the context lock (ioctls) or taken in {@link #release()}.
 */
final class TestAccessFile extends OpenFile {
    record Item(int id, long iova, long length) {
    }

    private final IommufdContext ctx;
    private final List<Item> items = new ArrayList<>();
    private int nextId;
    Access access;

    TestAccessFile(IommufdContext ctx) {
        this.ctx = ctx;
    }

    /** Access owner callback: unpin every item that touches [iova, iova+length). */
    void unmap(long iova, long length) {
        long last = iova + length - 1;
        for (Iterator<Item> it = items.iterator(); it.hasNext();) {
            Item item = it.next();
            if (Long.compareUnsigned(iova, item.iova + item.length - 1) > 0 || Long.compareUnsigned(last, item.iova) < 0) {
                continue;
            }
            it.remove();
            access.unpinPages(item.iova, item.length);
        }
    }

    int addItem(long iova, long length) {
        Item item = new Item(nextId++, iova, length);
        items.add(item);
        return item.id;
    }

    void removeItem(int id) {
        items.removeIf(i -> i.id == id);
    }

    /** Unpins and forgets one item; false if no such item. */
    boolean destroyItem(int id) {
        for (Iterator<Item> it = items.iterator(); it.hasNext();) {
            Item item = it.next();
            if (item.id == id) {
                it.remove();
                access.unpinPages(item.iova, item.length);
                return true;
            }
        }
        return false;
    }

    @Override
    public String name() {
        return "anon_inode:[iommufd_test_staccess]";
    }

    @Override
    protected void release() {
        synchronized (ctx) {
            if (access != null) {
                unmap(0, -1L);
                access.destroyByOwner();
            }
        }
        ctx.putFile();
    }
}
