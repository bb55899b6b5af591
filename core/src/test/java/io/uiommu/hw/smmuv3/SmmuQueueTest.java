package io.uiommu.hw.smmuv3;

import io.uiommu.iommu.Translation;
import org.junit.jupiter.api.Test;

import static io.uiommu.iommu.IommuDomain.IOMMU_READ;
import static org.assertj.core.api.Assertions.assertThat;

/** The command queue and the event queue as software sees them: bytes, PROD, CONS, GERROR. */
class SmmuQueueTest {
    final SmmuFixture f = new SmmuFixture();

    @Test
    void illegalCommandStopsTheQueueWithCerrorIll() {
        Smmu hw = f.hw;
        long base = hw.readRegister(Smmu.CMDQ_BASE) & Smmu.Q_BASE_ADDR_MASK;
        int log2 = (int) (hw.readRegister(Smmu.CMDQ_BASE) & 0x1f);
        int prod = (int) hw.readRegister(Smmu.CMDQ_PROD);
        int idx = prod & ((1 << log2) - 1);
        f.memory.writeLong(base + idx * 16L, 0x7f); // no such opcode
        f.memory.writeLong(base + idx * 16L + 8, 0);
        long gerror = hw.readRegister(Smmu.GERROR);
        hw.writeRegister(Smmu.CMDQ_PROD, prod + 1);
        long cons = hw.readRegister(Smmu.CMDQ_CONS);
        assertThat(cons >>> 24 & 0x7f).as("CMDQ_CONS.ERR").isEqualTo(Smmu.CERROR_ILL);
        assertThat(cons & ((1 << (log2 + 1)) - 1)).as("CONS stays on the bad command").isEqualTo(prod);
        assertThat(hw.readRegister(Smmu.GERROR) ^ gerror).as("GERROR.CMDQ_ERR toggled").isEqualTo(1);
        // while the error is unacknowledged nothing more is consumed
        f.memory.writeLong(base + ((idx + 1) & ((1 << log2) - 1)) * 16L, Command.SYNC);
        hw.writeRegister(Smmu.CMDQ_PROD, prod + 2);
        assertThat(hw.readRegister(Smmu.CMDQ_CONS) & 0xffff).isEqualTo(prod);
        // the driver's recovery (arm_smmu_cmdq_skip_err): overwrite with CMD_SYNC, acknowledge
        f.memory.writeLong(base + idx * 16L, Command.SYNC);
        hw.writeRegister(Smmu.GERRORN, hw.readRegister(Smmu.GERROR));
        assertThat(hw.readRegister(Smmu.CMDQ_CONS)).isEqualTo(prod + 2);
    }

    @Test
    void driverSkipsIllegalCommandsAndGoesOn() {
        SmmuMaster dev = f.device("nic0", 1, 0);
        SmmuPagingDomain d = f.stage1(dev);
        d.map(0x1000, f.frame(), 4096, IOMMU_READ);
        f.attach(dev, d);
        assertThat(f.read(dev, 0x1000).faulted).isFalse();
        f.smmu.issue(new long[] {Command.TLBI_EL2_ALL, 0}, Command.tlbiNhAsid(0, d.asid()));
        assertThat(f.smmu.commandErrors()).as("EL2 commands are illegal without IDR0.HYP").isEqualTo(1);
        assertThat(f.hw.tlb.validEntries()).as("the TLBI after it ran").isZero();
    }

    @Test
    void cmdSyncWritesItsMsi() {
        long word = 0x3000_0000L;
        f.smmu.issue(Command.sync(word, 0x1234_5678));
        assertThat(f.memory.readLong(word) & 0xffff_ffffL).isEqualTo(0x1234_5678L);
    }

    @Test
    void eventQueueFillsThenOverflows() {
        f.hw.writeRegister(Smmu.IRQ_CTRL, 0); // nobody services the queue
        SmmuMaster dev = f.device("nic0", 1, 0);
        SmmuPagingDomain d = f.stage1(dev);
        f.attach(dev, d);
        int entries = 1 << ArmSmmuV3.EVTQ_LOG2;
        for (int i = 0; i < entries + 3; i++) {
            assertThat(f.read(dev, 0x10000L * i).faultName).isEqualTo("F_TRANSLATION");
        }
        assertThat(f.hw.eventsWritten()).isEqualTo(entries);
        assertThat(f.hw.eventsLost()).isEqualTo(3);
        assertThat(f.hw.readRegister(Smmu.EVTQ_PROD) >>> 31).as("OVFLG").isEqualTo(1);
        var ev = f.events();
        assertThat(ev).hasSize(entries);
        assertThat(ev.get(5)[2]).isEqualTo(0x50000L);
        // consumed: room again
        f.read(dev, 0x999000L);
        assertThat(f.events()).extracting(e -> e[2]).containsExactly(0x999000L);
    }

    @Test
    void recordBitsDecideWhetherTranslationFaultsAreLogged() {
        SmmuMaster dev = f.device("nic0", 1, 0);
        SmmuPagingDomain d = f.stage1(dev);
        f.attach(dev, d);
        long cd = f.smmu.cdAddress(dev, 0);
        f.memory.writeLong(cd, f.memory.readLong(cd) & ~Cd.R);
        f.smmu.issue(Command.cfgiCd(1, 0));
        Translation t = f.read(dev, 0x5000);
        assertThat(t.faultName).isEqualTo("F_TRANSLATION");
        assertThat(f.events()).as("CD.R = 0: not recorded").isEmpty();
    }

    /**
     * DMA racing unmap: once unmap (and its TLBI + CMD_SYNC) has returned, no translation that
     * starts afterwards may reach the page — not even through a TLB entry filled by a walk that
     * was in flight during the invalidation.
     */
    @Test
    void noTranslationAfterUnmapReturns() throws Exception {
        SmmuMaster dev = f.device("nic0", 1, 0);
        SmmuPagingDomain d = f.stage1(dev);
        f.attach(dev, d);
        long iova = 0x10_0000;
        long pa = f.frame();
        java.util.concurrent.atomic.AtomicLong unmappedEpoch = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicLong violations = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicLong hits = new java.util.concurrent.atomic.AtomicLong();
        Thread dma = new Thread(() -> {
            Translation t = new Translation();
            while (!stop.get()) {
                long epoch = unmappedEpoch.get();
                f.smmu.translate(dev, Translation.NO_PASID, iova, IOMMU_READ, t);
                if (epoch > 0 && (epoch & 1) == 0 && !t.faulted && unmappedEpoch.get() == epoch) {
                    violations.incrementAndGet(); // started after an unmap returned, before the next map
                    if (t.cacheHit) {
                        hits.incrementAndGet();
                    }
                }
            }
        });
        dma.start();
        try {
            for (int i = 0; i < 2000; i++) {
                unmappedEpoch.incrementAndGet(); // odd: mapped from now on
                d.map(iova, pa, 4096, IOMMU_READ);
                d.unmap(iova, 4096);
                unmappedEpoch.incrementAndGet(); // even: unmapped and invalidated
            }
        } finally {
            stop.set(true);
            dma.join();
        }
        assertThat(violations.get()).as("of which TLB hits: " + hits.get()).isZero();
    }
}
