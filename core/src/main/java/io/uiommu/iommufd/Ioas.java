package io.uiommu.iommufd;

/** An I/O address space (struct iommufd_ioas): an io_pagetable that domains and accesses follow. */
public final class Ioas extends IommufdObject {
    private final IommufdContext ctx;

    public Ioas(IommufdContext ctx) {
        super(ObjectType.IOAS);
        this.ctx = ctx;
    }

    public IommufdContext context() {
        return ctx;
    }

    @Override
    protected void destroy() {
        if (ctx.vfioIoas() == this) {
            ctx.setVfioIoas(null);
        }
    }
}
