package io.uiommu.hw.vtd;

import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.StaleTranslation;
import io.uiommu.iommu.Translation;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import static io.uiommu.hw.vtd.VtdFixture.RID_PASID;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Each cache serves what it was filled with until the matching invalidation: rewrite a descriptor
 * without invalidating, the old translation stays and the auditor reports it; invalidate, the new
 * one shows.
 */
class VtdStaleCacheTest {
    private static final int RW = IommuDomain.IOMMU_READ | IommuDomain.IOMMU_WRITE;
    private static final long IOVA = 0x4000_0000L;
    private final VtdFixture f = new VtdFixture();
    private VtdDevice dev;
    private VtdPagingDomain domain;
    private long oldPa;
    private long newPa;

    @BeforeEach
    void setUp() {
        f.auditor.setEnabled(true);
        f.auditor.setStep("setup");
        dev = f.device("nic0", "00:03.0", 20, false);
        domain = f.paging(dev, 0);
        f.iommu.attachDev(domain, dev);
        oldPa = f.frame(1);
        newPa = f.frame(2);
        domain.map(IOVA, oldPa, 4096, RW);
        domain.map(IOVA + 0x10_0000L, f.frame(3), 4096, RW);
    }

    /** Points the leaf of IOVA at newPa behind the IOTLB's back; returns the leaf's address. */
    private long rewriteLeaf() {
        assertThat(f.translate(dev, RID_PASID, IOVA, false).physAddr).isEqualTo(oldPa);
        long leaf = f.leafAddress(domain, IOVA);
        long pte = f.memory.readLong(leaf);
        f.auditor.setStep("rewrite");
        f.memory.writeLong(leaf, (pte & ~0x000F_FFFF_FFFF_F000L) | newPa);
        f.auditor.setStep("dma");
        Translation stale = f.translate(dev, RID_PASID, IOVA, false);
        assertThat(stale.cacheHit).isTrue();
        assertThat(stale.physAddr).as("hardware serves the cached translation").isEqualTo(oldPa);
        assertThat(f.auditor.reports()).hasSize(1);
        StaleTranslation r = f.auditor.reports().getFirst();
        assertThat(r.cache()).isEqualTo("IOTLB");
        assertThat(r.vendor()).isEqualTo("vtd");
        assertThat(r.descriptor()).isEqualTo(leaf);
        assertThat(r.changedAt()).isEqualTo("rewrite");
        assertThat(r.servedAt()).isEqualTo("dma");
        assertThat(r.filledAt()).isEqualTo("setup");
        return leaf;
    }

    private void expectNew() {
        Translation t = f.translate(dev, RID_PASID, IOVA, false);
        assertThat(t.cacheHit).isFalse();
        assertThat(t.physAddr).isEqualTo(newPa);
        f.auditor.clearReports();
        assertThat(f.translate(dev, RID_PASID, IOVA, false).cacheHit).isTrue();
        assertThat(f.auditor.reports()).isEmpty();
    }

    @Test
    void globalIotlbInvalidation() {
        rewriteLeaf();
        f.iommu.submit(InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_GLOBAL, 0, false), 0);
        expectNew();
    }

    @Test
    void domainSelectiveIotlbInvalidation() {
        rewriteLeaf();
        f.iommu.submit(InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_DOMAIN, domain.did + 1, false), 0);
        assertThat(f.translate(dev, RID_PASID, IOVA, false).physAddr).as("another DID").isEqualTo(oldPa);
        f.iommu.submit(InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_DOMAIN, domain.did, false), 0);
        expectNew();
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 9})
    void pageSelectiveIotlbInvalidation(int addressMask) {
        rewriteLeaf();
        f.iommu.submit(InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_PAGE, domain.did, false),
                InvalidationDescriptor.pageRange(IOVA + (8L << 20), addressMask, false));
        assertThat(f.translate(dev, RID_PASID, IOVA, false).physAddr).as("another range").isEqualTo(oldPa);
        f.iommu.submit(InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_PAGE, domain.did, false),
                InvalidationDescriptor.pageRange(IOVA, addressMask, true));
        expectNew();
    }

    @Test
    void pasidBasedIotlbInvalidationLeavesSecondStageEntries() {
        rewriteLeaf();
        f.iommu.submit(InvalidationDescriptor.pasidIotlb(InvalidationDescriptor.PIOTLB_PASID, domain.did, 0), 0);
        assertThat(f.translate(dev, RID_PASID, IOVA, false).physAddr)
                .as("P_IOTLB does not flush second-stage-only entries").isEqualTo(oldPa);
    }

    @Test
    void unmapThroughTheDriverNeedsNoHelp() {
        domain.unmap(IOVA, 4096);
        domain.map(IOVA, newPa, 4096, RW);
        expectNew();
    }

    @Test
    void contextCache() {
        assertThat(f.translate(dev, RID_PASID, IOVA, false).faulted).isFalse();
        long ctx = f.contextEntry(dev);
        long q0 = f.memory.readLong(ctx);
        long emptyDirectory = f.frame(0);
        f.auditor.setStep("move directory");
        f.memory.writeLong(ctx, (q0 & 0xFFF) | emptyDirectory);
        Translation t = f.translate(dev, RID_PASID, IOVA + 0x10_0000L, false);
        assertThat(t.faulted).as("the cached context entry still points at the old directory").isFalse();
        assertThat(f.auditor.reports()).extracting(StaleTranslation::cache).contains("context cache");
        f.iommu.submit(InvalidationDescriptor.contextCache(InvalidationDescriptor.CC_DEVICE, 0, dev.sid() ^ 1, 0), 0);
        assertThat(f.translate(dev, RID_PASID, IOVA + 0x10_0000L, false).faulted).as("another device").isFalse();
        f.iommu.submit(InvalidationDescriptor.contextCache(InvalidationDescriptor.CC_DEVICE, 0, dev.sid(), 0), 0);
        Translation now = f.translate(dev, RID_PASID, IOVA + 0x10_0000L, false);
        assertThat(now.faultName).isEqualTo("PASID_DIRECTORY_NOT_PRESENT");
    }

    @Test
    void contextCacheFunctionMask() {
        assertThat(f.translate(dev, RID_PASID, IOVA, false).faulted).isFalse();
        long ctx = f.contextEntry(dev);
        f.memory.writeLong(ctx, 0);
        // FM = 3 ignores the function bits: 00:03.7 covers 00:03.0.
        f.iommu.submit(InvalidationDescriptor.contextCache(InvalidationDescriptor.CC_DEVICE, 0, dev.sid() | 7, 3), 0);
        assertThat(f.translate(dev, RID_PASID, IOVA + 0x10_0000L, false).faultName)
                .isEqualTo("CONTEXT_ENTRY_NOT_PRESENT");
    }

    @Test
    void pasidCache() {
        VtdPagingDomain other = f.paging(dev, 0);
        long otherPa = f.frame(9);
        other.map(IOVA + 0x10_0000L, otherPa, 4096, RW);
        assertThat(f.translate(dev, RID_PASID, IOVA, false).faulted).isFalse();
        long pe = f.pasidEntry(dev, 0);
        long q0 = f.memory.readLong(pe);
        f.auditor.setStep("switch table");
        f.memory.writeLong(pe, (q0 & 0xFFF) | other.root);
        Translation stale = f.translate(dev, RID_PASID, IOVA + 0x10_0000L, false);
        assertThat(stale.physAddr).as("the cached PASID entry still names the old table").isNotEqualTo(otherPa);
        assertThat(f.auditor.reports()).extracting(StaleTranslation::cache).contains("PASID cache");
        long oldTablePa = f.frame(4);
        domain.map(IOVA + 0x20_0000L, oldTablePa, 4096, RW);
        f.iommu.submit(InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_PASID, domain.did, 1), 0);
        assertThat(f.translate(dev, RID_PASID, IOVA + 0x20_0000L, false).physAddr)
                .as("another PASID invalidated: still the old table").isEqualTo(oldTablePa);
        f.iommu.submit(InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_PASID, domain.did, 0), 0,
                InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_DOMAIN, domain.did, false), 0);
        assertThat(f.translate(dev, RID_PASID, IOVA + 0x10_0000L, false).physAddr).isEqualTo(otherPa);
    }

    @Test
    void pasidCacheDomainAndGlobal() {
        assertThat(f.translate(dev, RID_PASID, IOVA, false).faulted).isFalse();
        long pe = f.pasidEntry(dev, 0);
        f.memory.writeLong(pe, 0);
        f.iommu.submit(InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_DOMAIN, domain.did + 1, 0), 0);
        assertThat(f.translate(dev, RID_PASID, IOVA + 0x10_0000L, false).faulted).isFalse();
        f.iommu.submit(InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_DOMAIN, domain.did, 0), 0);
        assertThat(f.translate(dev, RID_PASID, IOVA + 0x10_0000L, false).faultName)
                .isEqualTo("PASID_ENTRY_NOT_PRESENT");
    }
}
