package io.uiommu.uapi;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdContext;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.iommufd.IommufdObject;
import io.uiommu.iommufd.MmapRegions;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.proc.MmapRegion;
import io.uiommu.proc.OpenFile;
import io.uiommu.proc.UserProcess;

/**
 * The open file of /dev/iommu: ioctls go to the dispatcher, mmap to the context's driver regions;
 * the last close (or unmap, whichever comes later) releases the context.
 */
final class IommufdFile extends OpenFile {
    private final IommufdContext ctx;

    IommufdFile(IommufdContext ctx) {
        this.ctx = ctx;
    }

    IommufdContext context() {
        return ctx;
    }

    @Override
    public long ioctl(UserProcess caller, int request, long arg) {
        return Dispatcher.ioctl(ctx, caller, request, arg);
    }

    /**
     * iommufd_fops_mmap (Linux 6.17): maps a region a driver made mmap-able (a vIOMMU's page) at
     * the exact offset and length it was announced with. EINVAL for a length that is not whole
     * pages or a private mapping, EPERM for PROT_EXEC, ENXIO for an offset or length that does
     * not name one region exactly. The mapping holds the region's owner (its DESTROY is EBUSY)
     * and the context until it is unmapped. The returned frames are the driver's own pages.
     */
    @Override
    public MmapRegion mmap(UserProcess caller, long length, int prot, int flags, long pgoff) {
        if (length <= 0 || (length & (PhysicalMemory.PAGE_SIZE - 1)) != 0) {
            throw new IommufdException(Errno.EINVAL, "length not whole pages");
        }
        int mapType = flags & MAP_TYPE;
        if (mapType != MAP_SHARED && mapType != MAP_SHARED_VALIDATE) {
            throw new IommufdException(Errno.EINVAL, "not a shared mapping");
        }
        if ((prot & PROT_EXEC) != 0) {
            throw new IommufdException(Errno.EPERM, "executable mapping");
        }
        long offset = pgoff << PhysicalMemory.PAGE_SHIFT;
        MmapRegions.Region r;
        synchronized (ctx) {
            r = ctx.mmaps().find(offset);
            if (r == null || r.offset() != offset || r.length() != length) {
                throw new IommufdException(Errno.ENXIO, "no mmap region at offset 0x" + Long.toHexString(offset)
                        + " of length 0x" + Long.toHexString(length));
            }
            r.owner().get();
            ctx.getFile();
        }
        long[] pfns = new long[(int) (length >>> PhysicalMemory.PAGE_SHIFT)];
        for (int i = 0; i < pfns.length; i++) {
            pfns[i] = (r.physAddr() >>> PhysicalMemory.PAGE_SHIFT) + i;
        }
        IommufdObject owner = r.owner();
        return new MmapRegion(pfns, () -> {
            synchronized (ctx) {
                owner.put();
            }
            ctx.putFile();
        });
    }

    @Override
    public String name() {
        return "/dev/iommu";
    }

    @Override
    protected void release() {
        ctx.putFile();
    }
}
