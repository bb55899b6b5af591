package io.uiommu.iommufd;

/**
 * An in-kernel user of an IOAS (struct iommufd_access), as mdev and vdpa drivers use it: it pins
 * pages and copies data by IOVA, and must let go of pins when user space unmaps the area (the
 * owner's unmap callback). The owner holds an extra reference until it destroys the access.
 *
 * <p>Locking: guarded by the owning context's lock.
 */
public final class Access extends IommufdObject implements IoPagetable.AccessUser {
    /** The owner's side: asked to unpin whatever it holds in [iova, iova+length). */
    @FunctionalInterface
    public interface Owner {
        void unmap(long iova, long length);
    }

    private final IommufdContext ctx;
    private final boolean needsPinPages;
    private final Owner owner;
    private Ioas ioas;

    private Access(IommufdContext ctx, boolean needsPinPages, Owner owner) {
        super(ObjectType.ACCESS);
        this.ctx = ctx;
        this.needsPinPages = needsPinPages;
        this.owner = owner;
    }

    /** iommufd_access_create. */
    public static Access create(IommufdContext ctx, boolean needsPinPages, Owner owner) {
        Access a = ctx.objects().add(id -> new Access(ctx, needsPinPages, owner));
        a.get();
        return a;
    }

    /** iommufd_access_destroy: the owner lets go; the object detaches and disappears. */
    public void destroyByOwner() {
        put();
        ctx.objects().remove(this);
    }

    public boolean needsPinPages() {
        return needsPinPages;
    }

    public Ioas ioas() {
        return ioas;
    }

    @Override
    public long iovaAlignment() {
        return needsPinPages ? IoPagetable.PAGE_SIZE : 1;
    }

    @Override
    public void notifyUnmap(long iova, long length) {
        owner.unmap(iova, length);
    }

    /** iommufd_access_attach / replace: EINVAL when already attached for attach. */
    public void attach(int ioasId) {
        if (ioas != null) {
            throw new IommufdException(Errno.EINVAL, "access already attached");
        }
        changeIoas(ctx.objects().get(ioasId, Ioas.class));
    }

    public void replace(int ioasId) {
        changeIoas(ctx.objects().get(ioasId, Ioas.class));
    }

    private void changeIoas(Ioas next) {
        Ioas cur = ioas;
        if (cur == next) {
            return;
        }
        if (next != null) {
            next.iopt().addAccess(this);
            next.get();
        }
        if (cur != null) {
            owner.unmap(0, -1L);
            cur.iopt().removeAccess(this);
            cur.put();
        }
        ioas = next;
    }

    private IoPagetable iopt() {
        if (ioas == null) {
            throw new IommufdException(Errno.ENOENT, "access is not attached");
        }
        return ioas.iopt();
    }

    public long[] pinPages(long iova, long length, boolean write) {
        return iopt().accessPin(iova, length, write);
    }

    public void unpinPages(long iova, long length) {
        if (ioas != null) {
            ioas.iopt().accessUnpin(iova, length);
        }
    }

    public void rw(long iova, byte[] data, int off, int length, boolean write) {
        iopt().accessRw(iova, data, off, length, write);
    }

    @Override
    protected void destroy() {
        if (ioas != null) {
            changeIoas(null);
        }
    }
}
