package io.uiommu.device;

import io.uiommu.hw.mock.MockIommuDriver;
import io.uiommu.iommu.IommuDomain;
import io.uiommu.iommufd.Device;
import io.uiommu.iommufd.Ioas;
import io.uiommu.iommufd.IommufdContext;
import io.uiommu.platform.Platform;
import io.uiommu.proc.SimulatedProcess;
import io.uiommu.uapi.DevIommu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static io.uiommu.device.DmaEngineRegs.*;
import static io.uiommu.device.PciRegs.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Each BAR0 register and the DMA sequence of the dma-engine on the mock platform, through the mock IOMMU. */
class DmaEngineTest {
    static final long IOVA = MockIommuDriver.MOCK_APERTURE_START;
    final DevIommu machine = new DevIommu(Platform.mock());
    final SimulatedProcess proc = new SimulatedProcess(machine.physical());
    final IommufdContext ctx = new IommufdContext(machine.iommu(), proc);
    DmaEngine e;
    Device dev;
    Ioas ioas;
    long va;

    @BeforeEach
    void setUp() {
        e = machine.engine("dev0");
        dev = Device.bind(ctx, e.iommuDevice());
        ioas = ctx.objects().add(id -> new Ioas(ctx));
        va = proc.mmap(4 * 4096, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, true);
        ioas.iopt().mapUser(proc, va, 2 * 4096, IOVA, true, IommuDomain.IOMMU_READ | IommuDomain.IOMMU_WRITE, false);
        dev.attach(ioas.id());
        e.configWrite(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    }

    int reg(int off) {
        return (int) e.mmioRead(0, off, 4);
    }

    void set(int off, long v) {
        e.mmioWrite(0, off, 4, v);
    }

    void program(int op, long src, long dst, int length, int bufOffset) {
        e.mmioWrite(0, REG_SRC_IOVA, 8, src);
        e.mmioWrite(0, REG_DST_IOVA, 8, dst);
        set(REG_LENGTH, length);
        set(REG_BUF_OFFSET, bufOffset);
        set(REG_OP, op);
    }

    @Test
    void identityRegistersAreReadOnly() {
        assertThat(reg(REG_ID)).isEqualTo(ID_VALUE);
        assertThat(reg(REG_VERSION)).isEqualTo(VERSION_VALUE);
        assertThat(reg(REG_CAPS)).isEqualTo(CAPS_PASID | CAPS_ATS); // mock dev0: 20-bit PASID, ATS, no PRI
        assertThat(reg(REG_BUF_SIZE)).isEqualTo(DATA_WINDOW_SIZE);
        set(REG_ID, 0);
        set(REG_STATUS, 7);
        set(REG_COMPLETED, 7);
        assertThat(reg(REG_ID)).isEqualTo(ID_VALUE);
        assertThat(reg(REG_STATUS)).isEqualTo(STATUS_IDLE);
        assertThat(reg(REG_COMPLETED)).isZero();
        assertThat(reg(REG_DOORBELL)).isZero();
        assertThat(reg(0x7ffc)).isZero(); // unlisted
        assertThat(machine.engine("dev1").mmioRead(0, REG_CAPS, 4)).isEqualTo(0xffff_ffffL); // decode off
    }

    @Test
    void programmingRegistersHoldTheirValuesWithByteLanes() {
        e.mmioWrite(0, REG_SRC_IOVA, 8, 0x1122_3344_5566_7788L);
        assertThat(e.mmioRead(0, REG_SRC_IOVA, 8)).isEqualTo(0x1122_3344_5566_7788L);
        assertThat(reg(REG_SRC_IOVA + 4)).isEqualTo(0x1122_3344);
        e.mmioWrite(0, REG_SRC_IOVA + 1, 1, 0xab);
        assertThat(e.mmioRead(0, REG_SRC_IOVA, 8)).isEqualTo(0x1122_3344_5566_ab88L);
        e.mmioWrite(0, REG_DST_IOVA + 4, 4, 0xcafe);
        assertThat(e.mmioRead(0, REG_DST_IOVA, 8)).isEqualTo(0xcafeL << 32);
        set(REG_LENGTH, 0x1234);
        set(REG_BUF_OFFSET, 0x10);
        set(REG_PASID, 0xffff_ffffL);
        assertThat(reg(REG_PASID)).isEqualTo(PASID_VALID | PASID_EXEC | PASID_PRIV | PASID_MASK); // reserved bits read 0
        set(REG_OP, 0xff);
        assertThat(reg(REG_OP)).isEqualTo(3);
        e.mmioWrite(0, REG_LENGTH + 2, 2, 0x1);
        assertThat(reg(REG_LENGTH)).isEqualTo(0x1_1234);
        assertThat(e.mmioRead(0, REG_LENGTH, 2)).isEqualTo(0x1234);
    }

    @Test
    void dataWindowTakesAnyWidth() {
        e.mmioWrite(0, DATA_WINDOW + 3, 8, 0x0807_0605_0403_0201L);
        assertThat(e.mmioRead(0, DATA_WINDOW + 3, 1)).isEqualTo(1);
        assertThat(e.mmioRead(0, DATA_WINDOW + 4, 2)).isEqualTo(0x0302);
        assertThat(e.mmioRead(0, DATA_WINDOW + 0x7ff8, 8)).isZero();
        assertThatThrownBy(() -> e.mmioRead(0, BAR0_SIZE - 4, 8)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> e.mmioRead(1, 0, 4)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> e.mmioRead(0, 0, 3)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void fromDeviceWritesTheWindowToMemory() {
        for (int i = 0; i < 16; i++) {
            e.mmioWrite(0, DATA_WINDOW + 0x100 + i, 1, 0xa0 + i);
        }
        program(OP_FROM_DEVICE, 0, IOVA + 0x20, 16, 0x100);
        set(REG_DOORBELL, DOORBELL_START);
        assertThat(reg(REG_STATUS)).isEqualTo(STATUS_DONE);
        assertThat(reg(REG_BYTES_DONE)).isEqualTo(16);
        assertThat(reg(REG_COMPLETED)).isEqualTo(1);
        assertThat(reg(REG_INT_STATUS)).isEqualTo(INT_DONE);
        byte[] got = new byte[16];
        proc.read(va + 0x20, got, 0, 16);
        for (int i = 0; i < 16; i++) {
            assertThat(got[i] & 0xff).isEqualTo(0xa0 + i);
        }
    }

    @Test
    void toDeviceReadsMemoryIntoTheWindowAcrossPages() {
        byte[] src = new byte[8192];
        for (int i = 0; i < src.length; i++) {
            src[i] = (byte) (i * 7);
        }
        proc.write(va, src, 0, src.length);
        program(OP_TO_DEVICE, IOVA + 100, 0, 5000, 8);
        set(REG_DOORBELL, 1);
        assertThat(reg(REG_STATUS)).isEqualTo(STATUS_DONE);
        assertThat(reg(REG_BYTES_DONE)).isEqualTo(5000);
        for (int i : new int[] {0, 3995, 3996, 4999}) {
            assertThat((byte) e.mmioRead(0, DATA_WINDOW + 8 + i, 1)).isEqualTo(src[100 + i]);
        }
    }

    @Test
    void copyMovesIovaToIovaWithoutTouchingTheWindow() {
        proc.write(va, new byte[] {9, 8, 7, 6}, 0, 4);
        e.mmioWrite(0, DATA_WINDOW, 4, 0x55555555L);
        program(OP_COPY, IOVA, IOVA + 4096 + 12, 4, 0);
        set(REG_DOORBELL, 1);
        assertThat(reg(REG_STATUS)).isEqualTo(STATUS_DONE);
        byte[] got = new byte[4];
        proc.read(va + 4096 + 12, got, 0, 4);
        assertThat(got).containsExactly(9, 8, 7, 6);
        assertThat(e.mmioRead(0, DATA_WINDOW, 4)).isEqualTo(0x55555555L);
    }

    @Test
    void aFaultReportsIovaReasonAndCodeAndStopsPartWay() {
        program(OP_TO_DEVICE, IOVA + 2 * 4096 - 8, 0, 64, 0);
        set(REG_DOORBELL, 1);
        assertThat(reg(REG_STATUS)).isEqualTo(STATUS_FAULT);
        assertThat(reg(REG_BYTES_DONE)).isEqualTo(8);
        assertThat(e.mmioRead(0, REG_FAULT_IOVA, 8)).isEqualTo(IOVA + 2 * 4096);
        assertThat(machine.iommu().faultName(reg(REG_FAULT_REASON))).isEqualTo("MOCK_NOT_PRESENT");
        assertThat(reg(REG_FAULT_INFO) & FAULT_INFO_WRITE).isZero();
        assertThat(reg(REG_INT_STATUS)).isEqualTo(INT_FAULT);
        assertThat(reg(REG_COMPLETED)).isZero();
        // A faulting read comes back as Unsupported Request: Received Master Abort.
        assertThat(e.configRead(PCI_STATUS, 2) & PCI_STATUS_REC_MASTER_ABORT).isNotZero();

        program(OP_FROM_DEVICE, 0, IOVA + 2 * 4096, 4, 0);
        set(REG_DOORBELL, 1);
        assertThat(reg(REG_FAULT_INFO) & FAULT_INFO_WRITE).isNotZero();
        assertThat(reg(REG_BYTES_DONE)).isZero();
    }

    @Test
    void busMasterOffRefusesTheTransfer() {
        e.configWrite(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
        program(OP_FROM_DEVICE, 0, IOVA, 4, 0);
        set(REG_DOORBELL, 1);
        assertThat(reg(REG_STATUS)).isEqualTo(STATUS_ERROR);
        assertThat(reg(REG_ERROR)).isEqualTo(ERROR_BUS_MASTER);
        assertThat(reg(REG_INT_STATUS)).isEqualTo(INT_ERROR);
        byte[] got = new byte[4];
        proc.read(va, got, 0, 4);
        assertThat(got).containsOnly(0);
    }

    @Test
    void badProgrammingIsAnErrorWithItsCode() {
        program(OP_TO_DEVICE, IOVA, 0, 0, 0);
        set(REG_DOORBELL, 1);
        assertThat(reg(REG_ERROR)).isEqualTo(ERROR_LENGTH);
        program(OP_TO_DEVICE, IOVA, 0, DATA_WINDOW_SIZE + 1, 0);
        set(REG_DOORBELL, 1);
        assertThat(reg(REG_ERROR)).isEqualTo(ERROR_LENGTH);
        program(OP_TO_DEVICE, IOVA, 0, 16, DATA_WINDOW_SIZE - 8);
        set(REG_DOORBELL, 1);
        assertThat(reg(REG_ERROR)).isEqualTo(ERROR_LENGTH);
        program(3, IOVA, 0, 16, 0);
        set(REG_DOORBELL, 1);
        assertThat(reg(REG_ERROR)).isEqualTo(ERROR_OP);
        // PASID: enabled by the host at probe (the mock unit translates PASIDs), so first disable it.
        int pasidCap = e.findExtendedCapability(PCI_EXT_CAP_ID_PASID);
        program(OP_TO_DEVICE, IOVA, 0, 16, 0);
        set(REG_PASID, PASID_VALID | 5);
        e.configWrite(pasidCap + PCI_PASID_CTRL, 2, 0);
        set(REG_DOORBELL, 1);
        assertThat(reg(REG_ERROR)).isEqualTo(ERROR_PASID);
        e.configWrite(pasidCap + PCI_PASID_CTRL, 2, PCI_PASID_CTRL_ENABLE);
        set(REG_PASID, PASID_VALID | PASID_PRIV | 5);
        set(REG_DOORBELL, 1);
        assertThat(reg(REG_ERROR)).isEqualTo(ERROR_PASID);
        set(REG_PASID, 0);
        set(REG_DOORBELL, 1);
        assertThat(reg(REG_STATUS)).isEqualTo(STATUS_DONE);
        assertThat(reg(REG_ERROR)).isEqualTo(ERROR_NONE);
        set(REG_INT_STATUS, INT_ERROR);
        assertThat(reg(REG_INT_STATUS)).isEqualTo(INT_DONE); // RW1C: only the written bit cleared
    }

    @Test
    void pasidTransfersGoThroughThePasidAttachment() {
        Ioas other = ctx.objects().add(id -> new Ioas(ctx));
        long va2 = proc.mmap(4096, SimulatedProcess.PROT_READ | SimulatedProcess.PROT_WRITE, true);
        other.iopt().mapUser(proc, va2, 4096, IOVA, true, IommuDomain.IOMMU_READ | IommuDomain.IOMMU_WRITE, false);
        dev.attachPasid(7, other.id());
        e.mmioWrite(0, DATA_WINDOW, 4, 0x44332211L);
        program(OP_FROM_DEVICE, 0, IOVA, 4, 0);
        set(REG_PASID, PASID_VALID | 7);
        set(REG_DOORBELL, 1);
        assertThat(reg(REG_STATUS)).isEqualTo(STATUS_DONE);
        byte[] got = new byte[4];
        proc.read(va2, got, 0, 4);
        assertThat(got).containsExactly(0x11, 0x22, 0x33, 0x44);
        proc.read(va, got, 0, 4);
        assertThat(got).containsOnly(0);
        set(REG_PASID, PASID_VALID | 8); // nothing attached: blocked
        set(REG_DOORBELL, 1);
        assertThat(reg(REG_STATUS)).isEqualTo(STATUS_FAULT);
        assertThat(reg(REG_FAULT_INFO) & FAULT_INFO_PASID).isNotZero();
        assertThat(reg(REG_FAULT_PASID)).isEqualTo(8);
    }

    @Test
    void msiIsSentForUnmaskedCausesOnlyWhileEnabled() {
        int msi = e.findCapability(PCI_CAP_ID_MSI);
        int[] heard = new int[1];
        e.setMsiHandler(() -> heard[0]++);
        program(OP_FROM_DEVICE, 0, IOVA, 4, 0);
        set(REG_DOORBELL, 1);
        assertThat(e.msiCount()).isZero(); // MSI not enabled
        e.configWrite(msi + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
        set(REG_DOORBELL, 1);
        assertThat(heard[0]).isEqualTo(1);
        set(REG_INT_MASK, INT_DONE);
        set(REG_DOORBELL, 1);
        assertThat(heard[0]).isEqualTo(1);
        assertThat(reg(REG_INT_MASK)).isEqualTo(INT_DONE);
        set(REG_INT_MASK, 0xffff_ffffL);
        assertThat(reg(REG_INT_MASK)).isEqualTo(INT_ALL);
        set(REG_INT_MASK, INT_DONE);
        program(OP_FROM_DEVICE, 0, IOVA + 3 * 4096, 4, 0);
        set(REG_DOORBELL, 1);
        assertThat(heard[0]).isEqualTo(2); // the fault cause is not masked
        assertThat(e.msiCount()).isEqualTo(2);
        assertThat(reg(REG_COMPLETED)).isEqualTo(3);
    }

    @Test
    void resetFunctionKeepsConfigButClearsRegisters() {
        int pasidCap = e.findExtendedCapability(PCI_EXT_CAP_ID_PASID);
        program(OP_FROM_DEVICE, 0, IOVA, 4, 0);
        set(REG_DOORBELL, 1);
        e.mmioWrite(0, DATA_WINDOW, 4, 0x1234);
        e.resetFunction();
        assertThat(e.configRead(PCI_COMMAND, 2)).isEqualTo(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
        assertThat(e.configRead(pasidCap + PCI_PASID_CTRL, 2) & PCI_PASID_CTRL_ENABLE).isNotZero();
        assertThat(e.configRead(PCI_BASE_ADDRESS_0, 4)).isEqualTo((int) DmaEngines.MMIO_BASE);
        assertThat(reg(REG_STATUS)).isEqualTo(STATUS_IDLE);
        assertThat(reg(REG_COMPLETED)).isZero();
        assertThat(reg(REG_LENGTH)).isZero();
        assertThat(e.mmioRead(0, DATA_WINDOW, 4)).isZero();
    }

    @Test
    void probeEnablesWhatTheUnitSupportsAndPlacesBars() {
        DmaEngine dev1 = machine.engine("dev1");
        assertThat(dev1.configRead(PCI_BASE_ADDRESS_0, 4)).isEqualTo((int) DmaEngines.MMIO_BASE + BAR0_SIZE);
        int pasidCap = e.findExtendedCapability(PCI_EXT_CAP_ID_PASID);
        // The mock's dev0 supports neither execute nor privileged mode: only the enable.
        assertThat(e.configRead(pasidCap + PCI_PASID_CTRL, 2)).isEqualTo(PCI_PASID_CTRL_ENABLE);
        int ats = e.findExtendedCapability(PCI_EXT_CAP_ID_ATS);
        assertThat(e.configRead(ats + PCI_ATS_CTRL, 2) & PCI_ATS_CTRL_ENABLE).isNotZero();
        assertThat(machine.engines()).extracting(DmaEngine::name).containsExactly("dev0", "dev1");
        assertThat(machine.engine("nope")).isNull();
    }
}
