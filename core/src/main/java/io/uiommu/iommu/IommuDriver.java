package io.uiommu.iommu;

/**
 * The driver side of an IOMMU (struct iommu_ops): what the iommu core and iommufd ask of a vendor.
 * Refusals are {@link io.uiommu.iommufd.IommufdException}s with the errno the vendor driver returns.
 */
public interface IommuDriver {
    /** Capabilities a device's IOMMU may have (enum iommu_cap). */
    enum Cap { CACHE_COHERENCY, DIRTY_TRACKING }

    String name();

    boolean capable(IommuDevice dev, Cap cap);

    /**
     * domain_alloc_user: a paging domain (parent null) with IOMMU_HWPT_ALLOC_* flags and optional
     * vendor data, or a nested domain over {@code parent} from vendor data.
     */
    IommuDomain domainAllocUser(IommuDevice dev, int flags, IommuDomain parent, UserData data);

    /** The domain a device sits in when nothing is attached (blocking). */
    IommuDomain blockedDomain();

    /** attach_dev: may refuse with EINVAL when domain and device do not fit. */
    void attachDev(IommuDomain domain, IommuDevice dev);

    /**
     * set_dev_pasid: attaches one PASID of the device to a domain; the RID's translation and other
     * PASIDs stay as they are. Drivers without PASID support refuse with EOPNOTSUPP.
     */
    default void setDevPasid(IommuDomain domain, IommuDevice dev, int pasid) {
        throw new io.uiommu.iommufd.IommufdException(io.uiommu.iommufd.Errno.EOPNOTSUPP, name() + " has no PASID attach");
    }

    /** remove_dev_pasid: the PASID goes back to blocking. */
    default void removeDevPasid(IommuDevice dev, int pasid) {
    }

    /**
     * Attaches the RID with the domain owning every PASID of the device (a guest-owned PASID / CD /
     * GCR3 table behind a nested domain). Units whose nesting cannot express that refuse with
     * EOPNOTSUPP.
     */
    default void attachDevAllPasids(IommuDomain domain, IommuDevice dev) {
        throw new io.uiommu.iommufd.IommufdException(io.uiommu.iommufd.Errno.EOPNOTSUPP,
                name() + " cannot give a domain all PASIDs");
    }

    /** hw_info: vendor registers for IOMMU_GET_HW_INFO. */
    HwInfo hwInfo(IommuDevice dev);

    /** IOVA ranges the device cannot use (MSI windows and the like). */
    default java.util.List<ResvRegion> resvRegions(IommuDevice dev) {
        return java.util.List.of();
    }

    /**
     * set_dev_pasid: points one PASID of the device at {@code domain}, replacing {@code old} (null
     * when the PASID had nothing). Refusals leave the old translation in place. Drivers without
     * PASID support refuse with EOPNOTSUPP, as the kernel does when ops lack set_dev_pasid. By
     * default this goes to the three-argument hooks: a replace removes the old domain and, if the
     * new one is refused, puts the old one back.
     */
    default void setDevPasid(IommuDomain domain, IommuDevice dev, int pasid, IommuDomain old) {
        if (old == null) {
            setDevPasid(domain, dev, pasid);
            return;
        }
        removeDevPasid(dev, pasid);
        try {
            setDevPasid(domain, dev, pasid);
        } catch (RuntimeException e) {
            setDevPasid(old, dev, pasid);
            throw e;
        }
    }

    /** The blocking domain's set_dev_pasid: the PASID stops translating (it was attached to {@code domain}). */
    default void removeDevPasid(IommuDevice dev, int pasid, IommuDomain domain) {
        removeDevPasid(dev, pasid);
    }

    /**
     * Translates one device access through the IOMMU as hardware does (caches, table walks,
     * nesting), filling {@code out}; a fault is a result, not an exception. Drivers without a
     * hardware model refuse with EOPNOTSUPP.
     */
    default void translate(IommuDevice dev, int pasid, long iova, int access, Translation out) {
        throw new io.uiommu.iommufd.IommufdException(io.uiommu.iommufd.Errno.EOPNOTSUPP, name() + " has no DMA model");
    }

    /**
     * get_viommu_size != 0: whether {@code dev}'s IOMMU can host a vIOMMU of {@code type}
     * (IOMMU_VIOMMU_ALLOC answers EOPNOTSUPP otherwise, before looking at the parent).
     */
    default boolean viommuSupported(IommuDevice dev, int type) {
        return false;
    }

    /**
     * viommu_init: a vIOMMU of {@code type} over the nesting parent {@code parent}, seeing its
     * vDEVICEs, vEVENTQs and mmap regions through {@code core}; {@code data} is the optional driver
     * data (null if none).
     */
    default ViommuOps viommuInit(IommuDevice dev, int type, IommuDomain parent, UserData data, ViommuCore core) {
        throw new io.uiommu.iommufd.IommufdException(io.uiommu.iommufd.Errno.EOPNOTSUPP, name() + " has no vIOMMU");
    }

    // ---- I/O page faults (PRI) ----

    /**
     * dev_enable_feat(IOMMU_DEV_FEAT_IOPF): checks that the device can take part (the vendor's
     * errno otherwise), enables PRI on the function and makes the hardware accept its page
     * requests. Drivers without page request support refuse with ENODEV, as the core does when
     * ops lack dev_enable_feat.
     */
    default void enableIopf(IommuDevice dev) {
        throw new io.uiommu.iommufd.IommufdException(io.uiommu.iommufd.Errno.ENODEV, name() + " has no page requests");
    }

    /** dev_disable_feat(IOMMU_DEV_FEAT_IOPF): the hardware stops accepting the function's requests, PRI off. */
    default void disableIopf(IommuDevice dev) {
    }

    /**
     * ops->page_response: answers the group {@code last} ends with {@code code} (a
     * {@link PageResponse} code) the way the hardware takes it (a queued command or descriptor),
     * which sends the PRG response to the device.
     */
    default void pageResponse(IommuDevice dev, PageRequest last, int code) {
    }

    /**
     * The function sends a page request message to its IOMMU (device side, no kernel call): the
     * hardware records it in its queue and the driver drains it into
     * {@link IoPageFault#reportDeviceFault}. An IOMMU without page request support answers a
     * last-page request with a failure.
     */
    default void sendPageRequest(IommuDevice dev, PageRequest request) {
        if (request.lastPage()) {
            dev.pri().prgResponse(request.grpid(), request.pasid(), PageResponse.FAILURE);
        }
    }

    /**
     * Whether a fault of an ATS translation request is one the function may recover from with a
     * page request (the IOMMU answered "no permission": not present or not permitted).
     */
    default boolean pageRequestable(Translation fault) {
        return false;
    }

    /**
     * ops->user_pasid_table: nested domains on the RID own the guest's PASID table, so a page
     * request with a PASID nothing is attached to goes to the RID's nested domain.
     */
    default boolean userPasidTable() {
        return false;
    }

    /** Vendor registers for IOMMU_GET_HW_INFO: the type tag and the struct bytes. */
    record HwInfo(int type, byte[] data) {
    }

    /** A reserved IOVA range [start, start+length). */
    record ResvRegion(long start, long length) {
    }
}
