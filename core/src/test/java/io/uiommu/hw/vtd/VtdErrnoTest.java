package io.uiommu.hw.vtd;

import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.UserDataArray;
import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import static io.uiommu.hw.vtd.VtdFixture.RID_PASID;
import static io.uiommu.hw.vtd.VtdFixture.inv;
import static io.uiommu.hw.vtd.VtdFixture.s1;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Every refusal of domain allocation, attach and user invalidation, with Linux 6.12's errno. */
class VtdErrnoTest {
    private static final int NEST_PARENT = VtdIommu.IOMMU_HWPT_ALLOC_NEST_PARENT;
    private static final int DIRTY = VtdIommu.IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
    private static final int S1 = VtdIommu.IOMMU_HWPT_DATA_VTD_S1;
    private static final int INV = VtdNestedDomain.IOMMU_HWPT_INVALIDATE_DATA_VTD_S1;
    private final VtdFixture f = new VtdFixture();
    private VtdDevice dev;
    private VtdPagingDomain parent;

    @BeforeEach
    void setUp() {
        dev = f.device("nic0", "00:03.0", 20, false);
        parent = f.paging(dev, NEST_PARENT);
    }

    private static void errno(Errno expected, Executable call) {
        IommufdException e = assertThrows(IommufdException.class, call);
        assertThat(e.errno()).isEqualTo(expected);
    }

    private VtdNestedDomain nested(long flags, int addrWidth) {
        return (VtdNestedDomain) f.iommu.domainAllocUser(dev, 0, parent,
                f.userData(S1, s1(flags, 0x10_0000L, addrWidth, 0)));
    }

    @Test
    void pagingAllocation() {
        errno(Errno.EOPNOTSUPP, () -> f.iommu.domainAllocUser(dev, 1 << 2, null, null));
        errno(Errno.EOPNOTSUPP, () -> f.iommu.domainAllocUser(dev, 0, null, f.userData(S1, s1(0, 0, 48, 0))));
        VtdFixture bare = new VtdFixture(VtdFixture.unit(48, 48, 20, false, false, java.util.Map.of()));
        VtdDevice bdev = bare.device("nic0", "00:03.0", 20, false);
        errno(Errno.EOPNOTSUPP, () -> bare.iommu.domainAllocUser(bdev, NEST_PARENT, null, null));
        errno(Errno.EOPNOTSUPP, () -> bare.iommu.domainAllocUser(bdev, DIRTY, null, null));
        assertThat(bare.iommu.capable(bdev, io.uiommu.iommu.IommuDriver.Cap.DIRTY_TRACKING)).isFalse();
        VtdPagingDomain d = f.paging(dev, NEST_PARENT | DIRTY);
        assertThat(d.pgsizeBitmap()).isEqualTo((1L << 12) | (1L << 21) | (1L << 30));
        assertThat(d.apertureEnd()).isEqualTo((1L << 48) - 1);
    }

    @Test
    void nestedAllocation() {
        errno(Errno.EOPNOTSUPP, () -> f.iommu.domainAllocUser(dev, NEST_PARENT, parent, f.userData(S1, s1(0, 0, 48, 0))));
        errno(Errno.EOPNOTSUPP, () -> f.iommu.domainAllocUser(dev, 0, parent, null));
        errno(Errno.EOPNOTSUPP, () -> f.iommu.domainAllocUser(dev, 0, parent, f.userData(2, s1(0, 0, 48, 0))));
        VtdPagingDomain notParent = f.paging(dev, 0);
        errno(Errno.EINVAL, () -> f.iommu.domainAllocUser(dev, 0, notParent, f.userData(S1, s1(0, 0, 48, 0))));
        VtdNestedDomain n = nested(0, 48);
        errno(Errno.EINVAL, () -> f.iommu.domainAllocUser(dev, 0, n, f.userData(S1, s1(0, 0, 48, 0))));
        errno(Errno.EINVAL, () -> f.iommu.domainAllocUser(dev, 0, parent, f.userData(S1, new byte[16])));
        errno(Errno.EINVAL, () -> f.iommu.domainAllocUser(dev, 0, parent, f.userData(S1, new byte[32])));
        errno(Errno.EFAULT, () -> f.iommu.domainAllocUser(dev, 0, parent,
                new io.uiommu.iommu.UserData(S1, f.process, 0xdead_0000L, 24)));
        VtdFixture bare = new VtdFixture(VtdFixture.unit(48, 48, 20, false, true, java.util.Map.of()));
        VtdDevice bdev = bare.device("nic0", "00:03.0", 20, false);
        VtdPagingDomain plain = bare.paging(bdev, 0);
        errno(Errno.EOPNOTSUPP, () -> bare.iommu.domainAllocUser(bdev, 0, plain, bare.userData(S1, s1(0, 0, 48, 0))));
        // 6.12 checks flags and width at attach, not at allocation.
        assertThat(nested(1L << 40, 39)).isNotNull();
    }

    @Test
    void nestedAttachChecksAndKeepsTheOldDomain() {
        VtdPagingDomain current = f.paging(dev, 0);
        current.map(0x1000, f.frame(5), 4096, IommuDomain.IOMMU_READ);
        f.iommu.attachDev(current, dev);
        errno(Errno.EINVAL, () -> f.iommu.attachDev(nested(0, 39), dev));
        errno(Errno.EINVAL, () -> f.iommu.attachDev(nested(0, 57), dev));
        errno(Errno.EINVAL, () -> f.iommu.attachDev(nested(VtdNestedDomain.IOMMU_VTD_S1_EAFE, 48), dev));
        assertThat(f.translate(dev, RID_PASID, 0x1000, false).faulted).as("still the old domain").isFalse();
        assertThat(dev.programmedDomain(0)).isSameAs(current);

        VtdFixture noSrs = new VtdFixture(VtdFixture.regs("ECAP.SRS", 0));
        VtdDevice d2 = noSrs.device("nic0", "00:03.0", 20, false);
        VtdPagingDomain p2 = noSrs.paging(d2, NEST_PARENT);
        IommuDomain sre = noSrs.iommu.domainAllocUser(d2, 0, p2,
                noSrs.userData(S1, s1(VtdNestedDomain.IOMMU_VTD_S1_SRE, 0x10_0000L, 48, 0)));
        errno(Errno.EINVAL, () -> noSrs.iommu.attachDev(sre, d2));

        VtdFixture five = new VtdFixture(VtdFixture.unit(57, 57, 20, true, true, java.util.Map.of()));
        VtdDevice d3 = five.device("nic0", "00:03.0", 20, false);
        VtdPagingDomain p3 = five.paging(d3, NEST_PARENT);
        VtdNestedDomain n57 = (VtdNestedDomain) five.iommu.domainAllocUser(d3, 0, p3,
                five.userData(S1, s1(0, 0x10_0000L, 57, 0)));
        five.iommu.attachDev(n57, d3);
        long q2 = five.memory.readLong(five.pasidEntry(d3, 0) + 16);
        assertThat((q2 & PasidEntry.FSPM_MASK) >>> PasidEntry.FSPM_SHIFT).as("5-level first stage").isEqualTo(1);
    }

    @Test
    void dirtyDomainOnAUnitWithoutSlads() {
        VtdPagingDomain dirty = f.paging(dev, DIRTY);
        VtdFixture bare = new VtdFixture(VtdFixture.unit(48, 48, 20, true, false, java.util.Map.of()));
        VtdDevice bdev = bare.device("nic0", "00:03.0", 20, false);
        errno(Errno.EINVAL, () -> bare.iommu.attachDev(dirty, bdev));
    }

    @Test
    void invalidationErrnoAndEntryNum() {
        VtdNestedDomain n = nested(0, 48);
        UserDataArray wrongType = f.userArray(1, 24, inv(0, 1, 0, 0));
        errno(Errno.EINVAL, () -> n.invalidate(wrongType));
        assertThat(wrongType.handled()).isZero();

        UserDataArray flags = f.userArray(INV, 24, inv(0, 1, 0, 0), inv(0x1000, 1, 0, 0), inv(0, 1, 2, 0));
        errno(Errno.EOPNOTSUPP, () -> n.invalidate(flags));
        assertThat(flags.handled()).isEqualTo(2);

        UserDataArray reserved = f.userArray(INV, 24, inv(0, 1, 0, 1));
        errno(Errno.EOPNOTSUPP, () -> n.invalidate(reserved));
        assertThat(reserved.handled()).isZero();

        UserDataArray unaligned = f.userArray(INV, 24, inv(0x1000, 1, 1, 0), inv(0x1234, 1, 0, 0));
        errno(Errno.EINVAL, () -> n.invalidate(unaligned));
        assertThat(unaligned.handled()).isEqualTo(1);

        UserDataArray allWithAddress = f.userArray(INV, 24, inv(0x1000, -1L, 0, 0));
        errno(Errno.EINVAL, () -> n.invalidate(allWithAddress));

        UserDataArray shortEntry = f.userArray(INV, 16, new byte[16]);
        errno(Errno.EINVAL, () -> n.invalidate(shortEntry));
        assertThat(shortEntry.handled()).isZero();

        UserDataArray fine = f.userArray(INV, 24, inv(0, -1L, 0, 0), inv(0x2000, 4, 1, 0), inv(0, 0, 0, 0));
        n.invalidate(fine);
        assertThat(fine.handled()).isEqualTo(3);
    }

    @Test
    void pasidAttach() {
        VtdPagingDomain d = f.paging(dev, 0);
        errno(Errno.EINVAL, () -> f.core.attachDevicePasid(dev, 0, d, false));
        errno(Errno.EINVAL, () -> f.core.attachDevicePasid(dev, 1 << 20, d, false));
        f.core.attachDevicePasid(dev, 5, d, false);
        errno(Errno.EBUSY, () -> f.core.attachDevicePasid(dev, 5, d, false));
        f.core.attachDevicePasid(dev, 5, f.paging(dev, 0), true);
        f.core.attachDevicePasid(dev, 5, d, true);
        errno(Errno.EINVAL, () -> f.core.attachDevicePasid(dev, 6, f.paging(dev, DIRTY), false));
        VtdDevice small = f.device("gpu0", "00:05.0", 4, false);
        errno(Errno.EINVAL, () -> f.core.attachDevicePasid(small, 16, d, false));

        d.map(0x1000, f.frame(7), 4096, IommuDomain.IOMMU_READ);
        assertThat(f.translate(dev, 5, 0x1000, false).faulted).isFalse();
        assertThat(f.translate(dev, RID_PASID, 0x1000, false).faultName).as("the RID stays blocked")
                .isEqualTo("PASID_ENTRY_NOT_PRESENT");
        f.core.detachDevicePasid(dev, 5);
        assertThat(f.translate(dev, 5, 0x1000, false).faultName).isEqualTo("PASID_ENTRY_NOT_PRESENT");
        f.core.attachDevicePasid(dev, 5, d, false);

        errno(Errno.EOPNOTSUPP, () -> f.iommu.attachDevAllPasids(d, dev));

        VtdFixture noPasid = new VtdFixture(VtdFixture.unit(48, 48, 0, true, true, java.util.Map.of()));
        VtdDevice nd = noPasid.device("nic0", "00:03.0", 20, false);
        errno(Errno.EOPNOTSUPP, () -> noPasid.core.attachDevicePasid(nd, 1, noPasid.paging(nd, 0), false));
    }

    @Test
    void mapBeyondTheWidth() {
        VtdPagingDomain d = f.paging(dev, 0);
        errno(Errno.EFAULT, () -> d.map(1L << 48, f.frame(0), 4096, IommuDomain.IOMMU_READ));
        long pa = f.frame(0);
        d.map(0x1000, pa, 4096, IommuDomain.IOMMU_READ);
        errno(Errno.EEXIST, () -> d.map(0x1000, pa, 4096, IommuDomain.IOMMU_READ));
        assertThat(d.iovaToPhys(0x1008)).isEqualTo(pa + 8);
    }
}
