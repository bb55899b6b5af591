package io.uiommu.iommufd;

import io.uiommu.iommu.IommuCore;
import io.uiommu.proc.UserProcess;

/**
 * One iommufd context (struct iommufd_ctx): what an open of /dev/iommu owns. Its objects live in
 * one ID table; files it hands out (access, fault, vEVENTQ) and mappings of its mmap regions keep
 * it alive; when the last reference goes every object is destroyed and every pin released.
 *
 * <p>Locking: this object's monitor serializes every operation on the context, as the uAPI
 * dispatcher takes it around each ioctl.
 */
public final class IommufdContext {
    private final IommuCore iommu;
    private final UserProcess opener;
    private final ObjectTable objects = new ObjectTable();
    private final MmapRegions mmaps = new MmapRegions();
    private int fileRefs = 1;
    /** IOMMU_OPTION_RLIMIT_MODE: false = per-user accounting (the default of /dev/iommu), true = per-mm. */
    private boolean accountMm;
    /** The IOAS the VFIO compatibility ioctls act on (no reference held). */
    private Ioas vfioIoas;

    public IommufdContext(IommuCore iommu, UserProcess opener) {
        this.iommu = iommu;
        this.opener = opener;
    }

    public IommuCore iommu() {
        return iommu;
    }

    /** The process that opened the file. */
    public UserProcess opener() {
        return opener;
    }

    public ObjectTable objects() {
        return objects;
    }

    /** Regions of the fd's offset space that drivers made mmap-able. */
    public MmapRegions mmaps() {
        return mmaps;
    }

    public boolean accountMm() {
        return accountMm;
    }

    public void setAccountMm(boolean accountMm) {
        this.accountMm = accountMm;
    }

    public Ioas vfioIoas() {
        return vfioIoas;
    }

    public void setVfioIoas(Ioas ioas) {
        this.vfioIoas = ioas;
    }

    /** A file handed out by this context (access or fault fd) holds it open. */
    public synchronized void getFile() {
        fileRefs++;
    }

    /** Drops a file reference; the last one releases the context. */
    public synchronized void putFile() {
        if (--fileRefs == 0) {
            vfioIoas = null;
            // Devices bound without a VFIO file are released first, as closing their VFIO files would.
            for (IommufdObject o : objects.objects()) {
                if (o instanceof Device d && d.platformBound()) {
                    d.unbind();
                }
            }
            objects.destroyAll();
        }
    }
}
