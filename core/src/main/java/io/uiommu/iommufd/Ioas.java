package io.uiommu.iommufd;

import java.util.ArrayList;
import java.util.List;

/**
 * An I/O address space (struct iommufd_ioas): an {@link IoPagetable} plus the paging HWPTs that
 * mirror it. DESTROY is refused while any HWPT (even an auto domain) or access holds it.
 *
 * <p>Locking: guarded by the owning context's lock.
 */
public final class Ioas extends IommufdObject {
    private final IommufdContext ctx;
    private final IoPagetable iopt = new IoPagetable();
    final List<HwptPaging> hwpts = new ArrayList<>();

    public Ioas(IommufdContext ctx) {
        super(ObjectType.IOAS);
        this.ctx = ctx;
    }

    public IommufdContext context() {
        return ctx;
    }

    public IoPagetable iopt() {
        return iopt;
    }

    /** The paging HWPTs of this IOAS, auto domains included. */
    public List<HwptPaging> hwpts() {
        return List.copyOf(hwpts);
    }

    @Override
    protected void destroy() {
        if (ctx.vfioIoas() == this) {
            ctx.setVfioIoas(null);
        }
        iopt.destroy();
    }
}
