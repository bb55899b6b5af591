package io.uiommu.hw.smmuv3;

import io.uiommu.iommu.DmaResult;
import io.uiommu.iommu.StaleTranslationAuditor;
import io.uiommu.iommu.Translation;
import io.uiommu.iommufd.Device;
import io.uiommu.iommufd.IommufdContext;
import io.uiommu.platform.PciDevice;
import io.uiommu.pt.ArmLpaeTable;
import io.uiommu.pt.NestedTables;
import io.uiommu.pt.PageTableFormat;
import io.uiommu.pt.TableAllocator;
import io.uiommu.pt.TableMemory;
import io.uiommu.pt.Walk;
import io.uiommu.testing.Cmd;
import io.uiommu.testing.IommufdTestClient;
import io.uiommu.testing.Rc;
import io.uiommu.uapi.DevIommu;
import io.uiommu.uapi.Ioctl;
import io.uiommu.uapi.IommufdStructs;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static io.uiommu.iommufd.Errno.E2BIG;
import static io.uiommu.iommufd.Errno.EBUSY;
import static io.uiommu.iommufd.Errno.EEXIST;
import static io.uiommu.iommufd.Errno.EINVAL;
import static io.uiommu.iommufd.Errno.EIO;
import static io.uiommu.iommufd.Errno.ENOENT;
import static io.uiommu.iommufd.Errno.EOPNOTSUPP;
import static io.uiommu.uapi.UapiConstants.IOMMU_HWPT_ALLOC_NEST_PARENT;
import static io.uiommu.uapi.UapiConstants.IOMMU_HWPT_DATA_ARM_SMMUV3;
import static io.uiommu.uapi.UapiConstants.IOMMU_HWPT_DATA_NONE;
import static io.uiommu.uapi.UapiConstants.IOMMU_HWPT_DATA_VTD_S1;
import static io.uiommu.uapi.UapiConstants.IOMMU_HWPT_FAULT_ID_VALID;
import static io.uiommu.uapi.UapiConstants.IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3;
import static io.uiommu.uapi.UapiConstants.IOMMU_VIOMMU_TYPE_ARM_SMMUV3;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The vIOMMU uAPI of Linux 6.13 over the SMMUv3 model, through the dispatcher as a VMM drives it:
 * GET_HW_INFO, a nesting parent, VIOMMU_ALLOC, VDEVICE_ALLOC, nested HWPTs from vSTEs, attach, DMA
 * through the guest's tables in guest RAM (user memory mapped into the parent), and the guest's
 * invalidation commands.
 */
class SmmuViommuUapiTest {
    static final long GUEST_RAM_IOVA = 0; // guest physical = IOVA of the parent IOAS
    static final long GUEST_RAM_BYTES = 1L << 20;
    static final long CD_IPA = 0x1000;
    static final long DATA_IPA = 0x8_0000;
    static final long GUEST_IOVA = 0x4000_0000L;
    static final int VSID = 0x42;

    DevIommu machine;
    ArmSmmuV3 smmu;
    ArmSmmuV3 otherSmmu;
    SmmuMaster nic;
    SmmuMaster nic1;
    SmmuMaster foreign;
    IommufdTestClient c;
    IommufdContext ctx;
    int devId;
    int dev1Id;
    int foreignId;
    int ioas;
    int s2;
    long guestRam;

    @BeforeEach
    void setUp() {
        machine = new DevIommu();
        StaleTranslationAuditor auditor = new StaleTranslationAuditor(machine.physical());
        smmu = new ArmSmmuV3(SmmuFixture.unit(Map.of()), machine.physical(), auditor);
        otherSmmu = new ArmSmmuV3(SmmuFixture.unit(Map.of()), machine.physical(), auditor);
        nic = (SmmuMaster) smmu.addDevice(new PciDevice("nic0", "00:03.0", 0x18, "smmu0", 8, true, false));
        nic1 = (SmmuMaster) smmu.addDevice(new PciDevice("nic1", "00:04.0", 0x20, "smmu0", 0, false, false));
        foreign = (SmmuMaster) otherSmmu.addDevice(new PciDevice("gpu0", "00:05.0", 0x18, "smmu1", 0, false, false));
        c = new IommufdTestClient(machine);
        ctx = DevIommu.contextOf(c.process(), c.fd());
        synchronized (ctx) {
            devId = Device.bind(ctx, nic).id();
            dev1Id = Device.bind(ctx, nic1).id();
            foreignId = Device.bind(ctx, foreign).id();
        }
        ioas = c.ioasAlloc();
        guestRam = c.mmap(GUEST_RAM_BYTES, true);
        c.mapFixed(ioas, guestRam, GUEST_RAM_BYTES, GUEST_RAM_IOVA).ok();
        s2 = c.hwptAlloc(devId, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT).ok().u32("out_hwpt_id");
    }

    @AfterEach
    void tearDown() {
        c.close();
    }

    // ---- helpers ----

    Rc viommuAlloc(int dev, int hwpt, int type, int flags) {
        return c.ioctl(Ioctl.IOMMU_VIOMMU_ALLOC, Cmd.of(IommufdStructs.IOMMU_VIOMMU_ALLOC).set("flags", flags)
                .set("type", type).set("dev_id", dev).set("hwpt_id", hwpt));
    }

    int viommu() {
        return viommuAlloc(devId, s2, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 0).ok().u32("out_viommu_id");
    }

    Rc vdeviceAlloc(int viommu, int dev, long virtId) {
        return c.ioctl(Ioctl.IOMMU_VDEVICE_ALLOC, Cmd.of(IommufdStructs.IOMMU_VDEVICE_ALLOC).set("viommu_id", viommu)
                .set("dev_id", dev).set("virt_id", virtId));
    }

    static byte[] le64s(long... words) {
        byte[] b = new byte[words.length * 8];
        for (int i = 0; i < words.length; i++) {
            for (int k = 0; k < 8; k++) {
                b[i * 8 + k] = (byte) (words[i] >>> (8 * k));
            }
        }
        return b;
    }

    Rc nestedAlloc(int dev, int viommu, int flags, long ste0, long ste1) {
        return c.hwptAlloc(dev, viommu, 0, flags, IOMMU_HWPT_DATA_ARM_SMMUV3, c.userCopy(le64s(ste0, ste1)), 16);
    }

    static long s1Vste(long cdTableIpa, int s1cdmax) {
        return Ste.V | (long) Ste.CONFIG_S1_TRANS << Ste.CONFIG_SHIFT | cdTableIpa | (long) s1cdmax << Ste.S1CDMAX_SHIFT;
    }

    Rc invalidate(int id, long... cmdWords) {
        return c.hwptInvalidate(id, c.userCopy(le64s(cmdWords)), IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3, 16,
                cmdWords.length / 2);
    }

    Rc attach(int dev, int hwpt) {
        synchronized (ctx) {
            try {
                ctx.objects().get(dev, Device.class).attach(hwpt);
                return new Rc("attach", 0, null);
            } catch (io.uiommu.iommufd.IommufdException e) {
                return new Rc("attach", -e.errno().value(), null);
            }
        }
    }

    /** Guest RAM seen by the guest: IPA → the VMM's user memory. */
    final class GuestTables implements TableMemory, TableAllocator {
        long next = 0x10000;

        @Override
        public long tableAddress(long addr, Walk walk) {
            return addr;
        }

        @Override
        public long readLong(long ipa) {
            return c.process().memory().readLong(guestRam + ipa);
        }

        @Override
        public void writeLong(long ipa, long value) {
            c.process().memory().writeLong(guestRam + ipa, value);
        }

        @Override
        public boolean compareAndSetLong(long ipa, long expected, long value) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long allocate(long bytes) {
            long at = (next + bytes - 1) & -bytes;
            next = at + bytes;
            return at;
        }

        @Override
        public void free(long pa, long bytes) {
        }
    }

    /** The guest builds a CD (ASID 7) and a 4-level stage-1 table mapping GUEST_IOVA → DATA_IPA. */
    long buildGuestTables() {
        GuestTables g = new GuestTables();
        ArmLpaeTable f = ArmLpaeTable.stage1(4096, 48, 48, false);
        long root = f.allocateRoot(g, g);
        f.map(root, GUEST_IOVA, DATA_IPA, 4096, PageTableFormat.READ | PageTableFormat.WRITE, g, g);
        long[] cd = Cd.stage1(7, 16, 12, 5, root, false);
        for (int i = 0; i < 8; i++) {
            g.writeLong(CD_IPA + 8L * i, cd[i]);
        }
        c.write(guestRam + DATA_IPA, "guest data page".getBytes());
        c.write(guestRam + DATA_IPA + 0x1000, "another page!!!".getBytes());
        return root;
    }

    String dmaRead(long iova) {
        byte[] buf = new byte[15];
        DmaResult r = ctx.iommu().dma(nic, Translation.NO_PASID, iova, buf, 0, buf.length, false);
        return r.ok() ? new String(buf) : r.fault().name();
    }

    static long le(byte[] b, int off, int width) {
        long v = 0;
        for (int k = width - 1; k >= 0; k--) {
            v = v << 8 | (b[off + k] & 0xff);
        }
        return v;
    }

    // ---- tests ----

    @Test
    void getHwInfoReturnsTheIdRegisters() {
        long buf = c.userAlloc(64);
        Rc rc = c.getHwInfo(devId, 0, buf, 64).ok();
        assertThat(rc.u32("out_data_type")).isEqualTo(ArmSmmuV3.IOMMU_HW_INFO_TYPE_ARM_SMMUV3);
        assertThat(rc.u32("data_len")).isEqualTo(IommufdStructs.IOMMU_HW_INFO_ARM_SMMUV3.size());
        byte[] info = c.read(buf, 64);
        for (int i = 0; i < 6; i++) {
            assertThat(le(info, 8 + 4 * i, 4)).as("idr[%d]", i)
                    .isEqualTo(smmu.hardware().readRegister(Smmu.IDR0 + 4 * i));
        }
        assertThat(le(info, 32, 4)).isEqualTo(smmu.hardware().readRegister(Smmu.IIDR));
        assertThat(le(info, 36, 4)).isEqualTo(smmu.hardware().readRegister(Smmu.AIDR));
        assertThat(le(info, 40, 8)).as("zero-filled past the struct").isZero();
        assertThat(rc.u64("out_capabilities") & 1).as("dirty tracking").isEqualTo(1);
    }

    @Test
    void viommuAllocErrnos() {
        viommuAlloc(devId, s2, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 1).fails(EOPNOTSUPP);
        viommuAlloc(devId, s2, 0, 0).fails(EOPNOTSUPP);
        viommuAlloc(999, s2, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 0).fails(ENOENT);
        viommuAlloc(devId, s2, 2, 0).fails(EOPNOTSUPP);
        viommuAlloc(devId, 0, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 0).fails(ENOENT);
        viommuAlloc(devId, ioas, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 0).fails(ENOENT);
        int plain = c.hwptAlloc(devId, ioas, 0).ok().u32("out_hwpt_id");
        viommuAlloc(devId, plain, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 0).fails(EINVAL);
        viommuAlloc(foreignId, s2, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 0).fails(EINVAL);
        // the mock IOMMU has no vIOMMU
        var mock = c.mockDomain(c.ioasAlloc());
        viommuAlloc(mock.idevId(), s2, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 0).fails(EOPNOTSUPP);
        // size rules: the first version ends at out_viommu_id (24 bytes)
        byte[] short23 = new byte[23];
        c.ioctl(Ioctl.IOMMU_VIOMMU_ALLOC.code(), short23, 23).fails(EINVAL);
        byte[] v1 = Cmd.of(IommufdStructs.IOMMU_VIOMMU_ALLOC).set("type", 1).set("dev_id", devId).set("hwpt_id", s2)
                .bytes();
        byte[] first = java.util.Arrays.copyOf(v1, 24);
        assertThat(c.ioctl(Ioctl.IOMMU_VIOMMU_ALLOC.code(), first, 24).isOk()).isTrue();

        int viommu = viommu();
        c.destroy(s2).fails(EBUSY);
        c.destroy(viommu).ok();
    }

    @Test
    void vdeviceAllocErrnos() {
        int viommu = viommu();
        vdeviceAlloc(999, devId, VSID).fails(ENOENT);
        vdeviceAlloc(viommu, 999, VSID).fails(ENOENT);
        vdeviceAlloc(viommu, foreignId, VSID).fails(EINVAL);
        int vdev = vdeviceAlloc(viommu, devId, VSID).ok().u32("out_vdevice_id");
        vdeviceAlloc(viommu, devId, VSID + 1).fails(EEXIST);
        vdeviceAlloc(viommu, dev1Id, VSID).fails(EEXIST);
        c.destroy(viommu).fails(EBUSY);
        c.destroy(vdev).ok();
        vdeviceAlloc(viommu, dev1Id, VSID).ok();
    }

    @Test
    void nestedAllocErrnos() {
        int viommu = viommu();
        long ok0 = s1Vste(CD_IPA, 0);
        c.hwptAlloc(devId, viommu, 0, 0, IOMMU_HWPT_DATA_NONE, 0, 0).fails(EOPNOTSUPP);
        c.hwptAlloc(devId, viommu, 0, 0, IOMMU_HWPT_DATA_VTD_S1, c.userCopy(new byte[24]), 24).fails(EINVAL);
        c.hwptAlloc(devId, viommu, 0, 0, IOMMU_HWPT_DATA_ARM_SMMUV3, c.userCopy(new byte[8]), 8).fails(EINVAL);
        nestedAlloc(devId, viommu, IOMMU_HWPT_ALLOC_NEST_PARENT, ok0, 0).fails(EOPNOTSUPP);
        nestedAlloc(devId, viommu, 1 << 3, ok0, 0).fails(EOPNOTSUPP);
        nestedAlloc(devId, viommu, IOMMU_HWPT_FAULT_ID_VALID, ok0, 0).fails(ENOENT);
        nestedAlloc(devId, viommu, 0, ok0 | 1L << 52, 0).fails(EIO);
        nestedAlloc(devId, viommu, 0, ok0, Ste.MEV).fails(EIO);
        nestedAlloc(devId, viommu, 0, Ste.V | 6L << 1, 0).fails(EIO);
        nestedAlloc(devId, viommu, 0, Ste.V | 7L << 1, 0).fails(EIO);
        nestedAlloc(devId, viommu, 0, ok0, 2L << Ste.EATS_SHIFT).fails(EIO);
        nestedAlloc(foreignId, viommu, 0, ok0, 0).fails(EINVAL);
        var mock = c.mockDomain(c.ioasAlloc());
        nestedAlloc(mock.idevId(), viommu, 0, ok0, 0).fails(EINVAL);
        nestedAlloc(devId, viommu, 0, 1L << 52, 0).ok();
        int nested = nestedAlloc(devId, viommu, 0, ok0, 1L << Ste.EATS_SHIFT).ok().u32("out_hwpt_id");
        c.destroy(viommu).fails(EBUSY);
        // the nested HWPT holds the vIOMMU, not the parent directly
        c.destroy(nested).ok();
        // a nested HWPT over a plain parent is not how SMMUv3 nests
        nestedAlloc(devId, s2, 0, ok0, 0).fails(EOPNOTSUPP);
    }

    @Test
    void guestDmaThroughNestedTranslationAndGuestInvalidation() {
        buildGuestTables();
        int viommu = viommu();
        int nested = nestedAlloc(devId, viommu, 0, s1Vste(CD_IPA, 0), 0).ok().u32("out_hwpt_id");
        assertThat(attach(devId, nested).errno()).as("no vDEVICE yet").isEqualTo(ENOENT);
        vdeviceAlloc(viommu, devId, VSID).ok();
        attach(devId, nested).ok();
        assertThat(dmaRead(GUEST_IOVA)).isEqualTo("guest data page");

        // the guest points its leaf at the next page; the TLB still has the old one
        Walk w = new Walk();
        w.record = true;
        SmmuPagingDomain parent = (SmmuPagingDomain) ctx.objects().get(s2, io.uiommu.iommufd.HwptPaging.class).domain();
        NestedTables view = new NestedTables(parent.format(), parent.root(),
                new io.uiommu.pt.PhysicalTables(machine.physical()), false);
        long guestRoot = machine.physical().readLong(
                view.tableAddress(CD_IPA + 8, new Walk())) & Cd.TTB0_MASK;
        assertThat(ArmLpaeTable.stage1(4096, 48, 48, false).walk(guestRoot, GUEST_IOVA, 0, false, view, w)).isTrue();
        long leafPa = w.recordedAddress[w.recorded - 1];
        long pte = machine.physical().readLong(leafPa);
        machine.physical().writeLong(leafPa, pte + 0x1000);
        assertThat(dmaRead(GUEST_IOVA)).as("stale until the guest invalidates").isEqualTo("guest data page");

        // invalidation rules of arm_vsmmu_cache_invalidate
        c.hwptInvalidate(viommu, c.userCopy(new byte[16]), IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3, 16, 0).fails(EINVAL);
        c.hwptInvalidate(viommu, c.userCopy(new byte[16]), 0, 16, 1).fails(EINVAL);
        Rc cfgiSte = invalidate(viommu, Command.cfgiSte(VSID)[0], Command.cfgiSte(VSID)[1]).fails(EIO);
        assertThat(cfgiSte.u32("entry_num")).isZero();
        long[] badSid = Command.cfgiCd(VSID + 1, 0);
        long[] tlbi = Command.tlbiNhAsid(0, 7);
        Rc quirk = invalidate(viommu, tlbi[0], tlbi[1], badSid[0], badSid[1]).fails(EIO);
        assertThat(quirk.u32("entry_num")).as("the TLBI counts as handled").isEqualTo(1);
        assertThat(dmaRead(GUEST_IOVA)).as("yet it was never issued (kernel quirk)").isEqualTo("guest data page");
        byte[] longEntry = new byte[24];
        longEntry[20] = 1;
        Rc big = c.hwptInvalidate(viommu, c.userCopy(longEntry), IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3, 24, 1)
                .fails(E2BIG);
        assertThat(big.u32("entry_num")).isZero();
        c.hwptInvalidate(nested, c.userCopy(new byte[16]), IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3, 16, 1).fails(EOPNOTSUPP);

        long[] cfgiCd = Command.cfgiCd(VSID, 0);
        Rc rc = invalidate(viommu, tlbi[0], tlbi[1], cfgiCd[0], cfgiCd[1]).ok();
        assertThat(rc.u32("entry_num")).isEqualTo(2);
        assertThat(dmaRead(GUEST_IOVA)).isEqualTo("another page!!!");
        assertThat(smmu.commandErrors()).isZero();
    }

    @Test
    void guestTlbiNsnhAllBecomesNhAllOfTheVmid() {
        buildGuestTables();
        int viommu = viommu();
        int nested = nestedAlloc(devId, viommu, 0, s1Vste(CD_IPA, 0), 0).ok().u32("out_hwpt_id");
        vdeviceAlloc(viommu, devId, VSID).ok();
        attach(devId, nested).ok();
        assertThat(dmaRead(GUEST_IOVA)).isEqualTo("guest data page");
        assertThat(smmu.hardware().tlb.validEntries()).isEqualTo(1);
        long[] all = Command.tlbiNsnhAll();
        // a short entry is zero-filled (copy_struct_from_user): 8 bytes of TLBI_NSNH_ALL
        c.hwptInvalidate(viommu, c.userCopy(le64s(all[0])), IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3, 8, 1).ok();
        assertThat(smmu.hardware().tlb.validEntries()).isZero();
    }

    @Test
    void vdeviceOfAnUnboundDeviceIsTombstoned() {
        int viommu = viommu();
        int vdev = vdeviceAlloc(viommu, dev1Id, VSID).ok().u32("out_vdevice_id");
        synchronized (ctx) {
            ctx.objects().get(dev1Id, Device.class).unbind();
        }
        c.destroy(vdev).fails(ENOENT);
        int next = c.ioasAlloc();
        assertThat(next).as("the freed device ID is reused, the tombstone is not").isEqualTo(dev1Id);
        assertThat(c.ioasAlloc()).isNotEqualTo(vdev).isGreaterThan(vdev);
        c.destroy(viommu).ok();
    }

    /** Layouts newer than the 6.12 headers, written down from upstream include/uapi/linux/iommufd.h. */
    @Test
    void structLayoutsAreUpstreams() {
        var va = IommufdStructs.IOMMU_VIOMMU_ALLOC;
        assertThat(va.size()).isEqualTo(40);
        assertThat(new int[] {va.offset("flags"), va.offset("type"), va.offset("dev_id"), va.offset("hwpt_id"),
                va.offset("out_viommu_id"), va.offset("data_len"), va.offset("__reserved"), va.offset("data_uptr")})
                .containsExactly(4, 8, 12, 16, 20, 24, 28, 32);
        assertThat(Ioctl.IOMMU_VIOMMU_ALLOC.code()).isEqualTo(0x3b90);
        assertThat(Ioctl.IOMMU_VIOMMU_ALLOC.minSize()).isEqualTo(24);
        var vd = IommufdStructs.IOMMU_VDEVICE_ALLOC;
        assertThat(vd.size()).isEqualTo(24);
        assertThat(new int[] {vd.offset("viommu_id"), vd.offset("dev_id"), vd.offset("out_vdevice_id"),
                vd.offset("virt_id")}).containsExactly(4, 8, 12, 16);
        assertThat(Ioctl.IOMMU_VDEVICE_ALLOC.code()).isEqualTo(0x3b91);
        assertThat(Ioctl.IOMMU_VDEVICE_ALLOC.minSize()).isEqualTo(24);
        assertThat(IommufdStructs.IOMMU_HWPT_ARM_SMMUV3.size()).isEqualTo(16);
        assertThat(IommufdStructs.IOMMU_VIOMMU_ARM_SMMUV3_INVALIDATE.size()).isEqualTo(16);
        var hi = IommufdStructs.IOMMU_HW_INFO_ARM_SMMUV3;
        assertThat(hi.size()).isEqualTo(40);
        assertThat(new int[] {hi.offset("idr"), hi.offset("iidr"), hi.offset("aidr")}).containsExactly(8, 32, 36);
    }
}
