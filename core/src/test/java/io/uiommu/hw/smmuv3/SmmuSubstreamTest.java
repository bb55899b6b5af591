package io.uiommu.hw.smmuv3;

import io.uiommu.iommu.DmaResult;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommu.StaleTranslationAuditor;
import io.uiommu.iommu.Translation;
import io.uiommu.iommufd.Device;
import io.uiommu.iommufd.IommufdContext;
import io.uiommu.platform.PciDevice;
import io.uiommu.pt.ArmLpaeTable;
import io.uiommu.pt.PageTableFormat;
import io.uiommu.pt.TableAllocator;
import io.uiommu.pt.TableMemory;
import io.uiommu.pt.Walk;
import io.uiommu.testing.Cmd;
import io.uiommu.testing.IommufdTestClient;
import io.uiommu.uapi.DevIommu;
import io.uiommu.uapi.Ioctl;
import io.uiommu.uapi.IommufdStructs;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static io.uiommu.uapi.UapiConstants.IOMMU_HWPT_ALLOC_NEST_PARENT;
import static io.uiommu.uapi.UapiConstants.IOMMU_HWPT_ALLOC_PASID;
import static io.uiommu.uapi.UapiConstants.IOMMU_HWPT_DATA_ARM_SMMUV3;
import static io.uiommu.uapi.UapiConstants.IOMMU_VIOMMU_TYPE_ARM_SMMUV3;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * SMMUv3 substream IDs are per master: each master's STE points at its own CD table, so SSID 5 of
 * one master and SSID 5 of another are unrelated (unlike a global PASID). With a vIOMMU the guest
 * owns the CD table of each vSTE in its RAM: the SSID of a DMA picks a CD of that device's guest
 * table, whose stage-1 table (a process's, SVA-style) the SMMU walks over the stage-2 parent, while
 * SSID 0 (the RID) keeps the guest kernel's own CD.
 */
class SmmuSubstreamTest {
    private static final int RW = IommuDomain.IOMMU_READ | IommuDomain.IOMMU_WRITE;

    @Test
    void kernelOwnedCdTablesArePerMaster() {
        SmmuFixture f = new SmmuFixture();
        SmmuMaster a = f.device("nic0", 0x18, 20);
        SmmuMaster b = f.device("gpu0", 0x20, 20);
        SmmuPagingDomain ridA = f.stage1(a);
        SmmuPagingDomain ridB = f.stage1(b);
        f.attach(a, ridA);
        f.attach(b, ridB);
        SmmuPagingDomain x = (SmmuPagingDomain) f.smmu.domainAllocUser(a, ArmSmmuV3.IOMMU_HWPT_ALLOC_PASID, null, null);
        SmmuPagingDomain y = (SmmuPagingDomain) f.smmu.domainAllocUser(b, ArmSmmuV3.IOMMU_HWPT_ALLOC_PASID, null, null);
        long pageX = f.frame();
        long pageY = f.frame();
        x.map(0x10_0000, pageX, 4096, RW);
        y.map(0x10_0000, pageY, 4096, RW);
        f.core.attachDevicePasid(a, 5, x, false);
        f.core.attachDevicePasid(b, 5, y, false);

        long cdA = f.smmu.cdAddress(a, 5);
        long cdB = f.smmu.cdAddress(b, 5);
        assertThat(cdA).isNotEqualTo(cdB);
        assertThat(f.smmu.cdAddress(a, 0)).as("each STE points at its own CD table")
                .isNotEqualTo(f.smmu.cdAddress(b, 0));
        long a0 = f.memory.readLong(cdA);
        long b0 = f.memory.readLong(cdB);
        assertThat(Cd.asid(a0)).isEqualTo(x.asid());
        assertThat(Cd.asid(b0)).isEqualTo(y.asid()).isNotEqualTo(x.asid());
        assertThat(f.memory.readLong(cdA + 8) & Cd.TTB0_MASK).isEqualTo(x.root());
        assertThat(f.memory.readLong(cdB + 8) & Cd.TTB0_MASK).isEqualTo(y.root());
        assertThat(f.translate(a, 5, 0x10_0040, false).physAddr).isEqualTo(pageX + 0x40);
        assertThat(f.translate(b, 5, 0x10_0040, false).physAddr).isEqualTo(pageY + 0x40);

        // Dropping SSID 5 of one master clears its CD only.
        f.core.detachDevicePasid(a, 5);
        assertThat(f.memory.readLong(cdA) & Cd.V).isZero();
        assertThat(f.memory.readLong(cdB) & Cd.V).isNotZero();
        assertThat(f.translate(a, 5, 0x10_0040, false).faulted).isTrue();
        assertThat(f.translate(b, 5, 0x10_0040, false).physAddr).isEqualTo(pageY + 0x40);
    }

    // ---- guest-owned CD tables through the vIOMMU uAPI ----

    private static final long RAM_BYTES = 1L << 20;
    private static final long CD_TABLE_NIC = 0x1000;
    private static final long CD_TABLE_GPU = 0x2000;
    private static final long GVA = 0x5555_0000_0000L;
    private static final int S1CDMAX = 3; // 8 CDs

    /** Guest RAM as the guest sees it: IPA → the VMM's user memory. */
    private record GuestRam(IommufdTestClient c, long base, long[] next) implements TableMemory, TableAllocator {
        @Override
        public long tableAddress(long addr, Walk walk) {
            return addr;
        }

        @Override
        public long readLong(long ipa) {
            return c.process().memory().readLong(base + ipa);
        }

        @Override
        public void writeLong(long ipa, long value) {
            c.process().memory().writeLong(base + ipa, value);
        }

        @Override
        public boolean compareAndSetLong(long ipa, long expected, long value) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long allocate(long bytes) {
            long at = (next[0] + bytes - 1) & -bytes;
            next[0] = at + bytes;
            return at;
        }

        @Override
        public void free(long pa, long bytes) {
        }

        /** The guest writes CD {@code ssid} of the CD table at {@code table}: ASID and a stage-1 table mapping GVA → dataIpa. */
        void cd(long table, int ssid, int asid, long dataIpa) {
            ArmLpaeTable f = ArmLpaeTable.stage1(4096, 48, 48, false);
            long root = f.allocateRoot(this, this);
            f.map(root, GVA, dataIpa, 4096, PageTableFormat.READ | PageTableFormat.WRITE, this, this);
            long[] cd = Cd.stage1(asid, 16, 12, 5, root, false);
            for (int i = 0; i < cd.length; i++) {
                writeLong(table + 64L * ssid + 8L * i, cd[i]);
            }
        }
    }

    private static byte[] le64s(long... words) {
        byte[] b = new byte[words.length * 8];
        for (int i = 0; i < words.length; i++) {
            for (int k = 0; k < 8; k++) {
                b[i * 8 + k] = (byte) (words[i] >>> (8 * k));
            }
        }
        return b;
    }

    @Test
    void guestCdTablesPerVsteSelectTheProcessTableBySsid() {
        DevIommu machine = new DevIommu();
        ArmSmmuV3 smmu = new ArmSmmuV3(SmmuFixture.unit(Map.of()), machine.physical(),
                new StaleTranslationAuditor(machine.physical()));
        SmmuMaster nic = (SmmuMaster) smmu.addDevice(new PciDevice("nic0", "00:03.0", 0x18, "smmu0", 8, true, false));
        SmmuMaster gpu = (SmmuMaster) smmu.addDevice(new PciDevice("gpu0", "00:04.0", 0x20, "smmu0", 8, true, false));
        try (IommufdTestClient c = new IommufdTestClient(machine)) {
            IommufdContext ctx = DevIommu.contextOf(c.process(), c.fd());
            int nicId;
            int gpuId;
            synchronized (ctx) {
                nicId = Device.bind(ctx, nic).id();
                gpuId = Device.bind(ctx, gpu).id();
            }
            int ioas = c.ioasAlloc();
            long ram = c.mmap(RAM_BYTES, true);
            c.mapFixed(ioas, ram, RAM_BYTES, 0).ok();
            int s2 = c.hwptAlloc(nicId, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT).ok().u32("out_hwpt_id");
            // A stage-2 parent serves no PASID: the guest owns them through its CD tables instead.
            c.hwptAlloc(nicId, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_PASID).fails(
                    io.uiommu.iommufd.Errno.EOPNOTSUPP);

            // The guest kernel (CD 0, ASID 1) and a process bound to SSID 5 (ASID 2) on the NIC; another
            // process on SSID 5 of the GPU, in the GPU's own table.
            GuestRam g = new GuestRam(c, ram, new long[] {0x10000});
            g.cd(CD_TABLE_NIC, 0, 1, 0x8_0000);
            g.cd(CD_TABLE_NIC, 5, 2, 0x8_1000);
            g.cd(CD_TABLE_GPU, 5, 3, 0x8_2000);
            c.write(ram + 0x8_0000, "guest kernel".getBytes());
            c.write(ram + 0x8_1000, "nic process!".getBytes());
            c.write(ram + 0x8_2000, "gpu process!".getBytes());

            int viommu = c.ioctl(Ioctl.IOMMU_VIOMMU_ALLOC, Cmd.of(IommufdStructs.IOMMU_VIOMMU_ALLOC)
                    .set("type", IOMMU_VIOMMU_TYPE_ARM_SMMUV3).set("dev_id", nicId).set("hwpt_id", s2)).ok()
                    .u32("out_viommu_id");
            int[] nested = new int[2];
            int[] ids = {nicId, gpuId};
            long[] tables = {CD_TABLE_NIC, CD_TABLE_GPU};
            for (int i = 0; i < 2; i++) {
                c.ioctl(Ioctl.IOMMU_VDEVICE_ALLOC, Cmd.of(IommufdStructs.IOMMU_VDEVICE_ALLOC).set("viommu_id", viommu)
                        .set("dev_id", ids[i]).set("virt_id", 0x40 + i)).ok();
                long ste0 = Ste.V | (long) Ste.CONFIG_S1_TRANS << Ste.CONFIG_SHIFT | tables[i]
                        | (long) S1CDMAX << Ste.S1CDMAX_SHIFT;
                // S1DSS = 0b10: traffic without a substream ID uses CD 0 (the guest kernel's).
                long ste1 = Ste.S1DSS_SSID0;
                // The vSTE takes no ALLOC_PASID: it already hands the guest every SSID of the device.
                c.hwptAlloc(ids[i], viommu, 0, IOMMU_HWPT_ALLOC_PASID, IOMMU_HWPT_DATA_ARM_SMMUV3,
                        c.userCopy(le64s(ste0, ste1)), 16).fails(io.uiommu.iommufd.Errno.EOPNOTSUPP);
                nested[i] = c.hwptAlloc(ids[i], viommu, 0, 0, IOMMU_HWPT_DATA_ARM_SMMUV3,
                        c.userCopy(le64s(ste0, ste1)), 16).ok().u32("out_hwpt_id");
                synchronized (ctx) {
                    ctx.objects().get(ids[i], Device.class).attach(nested[i]);
                }
            }
            // Each STE carries its own guest CD table (an IPA the SMMU reads through stage 2).
            assertThat(machine.physical().readLong(smmu.steAddress(0x18)) & Ste.S1CTXPTR_MASK).isEqualTo(CD_TABLE_NIC);
            assertThat(machine.physical().readLong(smmu.steAddress(0x20)) & Ste.S1CTXPTR_MASK).isEqualTo(CD_TABLE_GPU);

            assertThat(dma(ctx, nic, Translation.NO_PASID)).isEqualTo("guest kernel");
            assertThat(dma(ctx, nic, 5)).isEqualTo("nic process!");
            assertThat(dma(ctx, gpu, 5)).as("SSID 5 of another master is another CD").isEqualTo("gpu process!");
            assertThat(dma(ctx, gpu, Translation.NO_PASID)).as("the GPU's CD 0 is invalid").isEqualTo("C_BAD_CD");
            assertThat(dma(ctx, nic, 8)).as("beyond S1CDMAX").isEqualTo("C_BAD_SUBSTREAMID");
        }
    }

    private static String dma(IommufdContext ctx, SmmuMaster dev, int ssid) {
        byte[] buf = new byte[12];
        DmaResult r = ctx.iommu().dma(dev, ssid, GVA, buf, 0, buf.length, false);
        return r.ok() ? new String(buf) : r.fault().name();
    }
}
