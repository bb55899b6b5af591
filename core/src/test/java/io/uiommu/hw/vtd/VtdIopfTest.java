package io.uiommu.hw.vtd;

import io.uiommu.iommu.IoPageFault;
import io.uiommu.iommu.IommuDevice;
import io.uiommu.iommufd.Errno;
import io.uiommu.mem.PhysicalMemory;
import io.uiommu.proc.OpenFile;
import io.uiommu.testing.IopfFixture;
import io.uiommu.testing.IopfFixture.Dma;
import io.uiommu.testing.IopfFixture.Pgfault;
import io.uiommu.testing.Rc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static io.uiommu.uapi.UapiConstants.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * I/O page faults on VT-d: a PRI device's DMA at an unmapped IOVA becomes a page request
 * descriptor in the page request queue, the driver reports it, the fault fd shows it, and the
 * page group response descriptor the answer becomes lets the DMA finish or abort.
 */
class VtdIopfTest {
    private static final long IOVA = 0x10_0000L;
    private static final int PAGE = PhysicalMemory.PAGE_SIZE;

    private final IopfFixture f = new IopfFixture(IopfFixture.platform("vtd", true));
    private final VtdIommu vtd = (VtdIommu) f.dev.iommu().unitDriver("iommu0");
    private final VtdHardware hw = vtd.hardware();
    private final int sid = f.platform.device("pri0").requesterId();

    @AfterEach
    void close() {
        f.close();
    }

    /** Binds pri0, makes an IOAS, a fault queue and an IOPF-capable HWPT, and attaches the RID. */
    private int[] setUp() {
        int devId = f.bind("pri0");
        int ioas = f.t.ioasAlloc();
        f.faultAlloc();
        int hwpt = f.iopfHwpt(devId, ioas);
        assertThat(f.attach(devId, hwpt)).isEqualTo(hwpt);
        return new int[] {devId, ioas, hwpt};
    }

    private long mapPage(int ioas, long iova, byte fill) {
        long va = f.t.mmap(PAGE, false);
        f.t.fill(va, PAGE, fill);
        f.t.mapFixed(ioas, va, PAGE, iova).ok();
        return va;
    }

    @Test
    void dmaFaultBecomesADescriptorInThePageRequestQueue() {
        setUp();
        long before = hw.read64(VtdHardware.PQT);
        Dma d = f.startDma("pri0", IOVA + 0x40, 64);
        assertThat(d.done()).isFalse();
        // The descriptor stays in the ring where the unit wrote it; the handler moved PQH past it.
        long at = vtd.pageRequestQueue() + before;
        long qw0 = f.dev.physical().readLong(at);
        long qw1 = f.dev.physical().readLong(at + 8);
        assertThat(qw0 & 0xFF).isEqualTo(1); // page request descriptor
        assertThat((qw0 >>> 16) & 0xFFFF).isEqualTo(sid);
        assertThat(qw0 & (1L << 8)).isZero(); // no PASID
        assertThat(qw1 & 7).isEqualTo(0b101); // read, LPIG
        assertThat(qw1 & ~0xFFFL).isEqualTo(IOVA);
        assertThat(hw.read64(VtdHardware.PQT)).isEqualTo(before + 32);
        assertThat(hw.read64(VtdHardware.PQH)).isEqualTo(hw.read64(VtdHardware.PQT));
        assertThat(hw.read32(VtdHardware.PRS)).isZero();
        // An ATS translation request that found nothing present records no fault.
        assertThat(hw.read32(VtdHardware.FSTS) & VtdHardware.FSTS_PPF).isZero();
    }

    @Test
    void readShowsTheRequestAndSuccessAfterMappingCompletesTheDma() {
        int[] s = setUp();
        Dma d = f.startDma("pri0", IOVA + 0x40, 64);
        assertThat(f.poll()).isEqualTo(OpenFile.POLLIN | OpenFile.POLLRDNORM | OpenFile.POLLOUT);
        List<Pgfault> faults = f.read(4);
        assertThat(faults).hasSize(1);
        Pgfault p = faults.get(0);
        assertThat(p.flags()).isEqualTo(IOMMU_PGFAULT_FLAGS_LAST_PAGE);
        assertThat(p.devId()).isEqualTo(s[0]);
        assertThat(p.pasid()).isZero();
        assertThat(p.perm()).isEqualTo(IOMMU_PGFAULT_PERM_READ);
        assertThat(p.addr()).isEqualTo(IOVA);
        assertThat(p.length()).isZero();
        assertThat(p.cookie()).isEqualTo(1);
        assertThat(f.poll()).isEqualTo(OpenFile.POLLOUT);

        mapPage(s[1], IOVA, (byte) 0x5A);
        long descriptors = hw.pageGroupResponses();
        assertThat(f.respond(p.cookie(), IOMMUFD_PAGE_RESP_SUCCESS)).isEqualTo(IopfFixture.RESPONSE_SIZE);
        assertThat(hw.pageGroupResponses()).isEqualTo(descriptors + 1);
        assertThat(d.done()).isTrue();
        assertThat(d.result().ok()).isTrue();
        assertThat(d.result().bytesDone()).isEqualTo(64);
        assertThat(d.buffer).containsOnly((byte) 0x5A);
        assertThat(d.completions()).isEqualTo(1);
        assertThat(f.device("pri0").pri().outstanding()).isZero();
    }

    @Test
    void theResponseIsAPageGroupResponseDescriptorInTheInvalidationQueue() {
        setUp();
        f.startDma("pri0", IOVA, 8);
        Pgfault p = f.read(1).get(0);
        f.respond(p.cookie(), IOMMUFD_PAGE_RESP_INVALID);
        // qi_submit_sync wrote the response and a wait descriptor; the response is the one before.
        long iqa = hw.read64(VtdHardware.IQA) & ~0xFFFL;
        long head = hw.read64(VtdHardware.IQH);
        long at = iqa + (head - 64 + PAGE) % PAGE;
        long qw0 = f.dev.physical().readLong(at);
        long qw1 = f.dev.physical().readLong(at + 8);
        assertThat(qw0 & 0xF).isEqualTo(0x9);
        assertThat((qw0 >>> 12) & 0xF).isEqualTo(1); // invalid request
        assertThat((qw0 >>> 16) & 0xFFFF).isEqualTo(sid);
        assertThat(qw0 & (1L << 4)).isZero();
        assertThat((qw1 >>> 3) & 0x1FF).isEqualTo(p.grpid());
        assertThat(qw1 & 4).isEqualTo(4);
    }

    @Test
    void invalidEndsTheDmaWithTheFault() {
        setUp();
        Dma d = f.startDma("pri0", IOVA + PAGE, 2 * PAGE);
        Pgfault p = f.read(1).get(0);
        assertThat(p.addr()).isEqualTo(IOVA + PAGE);
        f.respond(p.cookie(), IOMMUFD_PAGE_RESP_INVALID);
        assertThat(d.done()).isTrue();
        assertThat(d.result().ok()).isFalse();
        assertThat(d.result().bytesDone()).isZero();
        assertThat(d.result().fault().iova()).isEqualTo(IOVA + PAGE);
        assertThat(d.result().fault().name()).isEqualTo("SS_ENTRY_NOT_PRESENT");
    }

    @Test
    void aWriteWithAPasidAsksForReadAndWriteAndTheResponseCarriesThePasid() {
        int devId = f.bind("pri0");
        int ioas = f.t.ioasAlloc();
        f.faultAlloc();
        int hwpt = f.iopfHwpt(devId, ioas, IOMMU_HWPT_ALLOC_PASID);
        f.attachRc(devId, 5, hwpt).ok();
        byte[] data = new byte[32];
        java.util.Arrays.fill(data, (byte) 7);
        Dma d = f.startDma("pri0", 5, IOVA, 32, true, data);
        Pgfault p = f.read(1).get(0);
        assertThat(p.flags()).isEqualTo(IOMMU_PGFAULT_FLAGS_PASID_VALID | IOMMU_PGFAULT_FLAGS_LAST_PAGE
                | 8 /* IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID, passed through as the kernel does */);
        assertThat(p.pasid()).isEqualTo(5);
        assertThat(p.perm()).isEqualTo(IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE);
        long va = mapPage(ioas, IOVA, (byte) 0);
        f.respond(p.cookie(), IOMMUFD_PAGE_RESP_SUCCESS);
        assertThat(d.result().ok()).isTrue();
        assertThat(f.t.read(va, 32)).containsOnly((byte) 7);
    }

    @Test
    void successWithoutAMappingFaultsAgainUntilTheDeviceGivesUp() {
        setUp();
        Dma d = f.startDma("pri0", IOVA, 8);
        List<Integer> groups = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            assertThat(d.done()).isFalse();
            Pgfault p = f.read(1).get(0);
            groups.add(p.grpid());
            f.respond(p.cookie(), IOMMUFD_PAGE_RESP_SUCCESS);
        }
        assertThat(groups).doesNotHaveDuplicates();
        assertThat(d.done()).isTrue();
        assertThat(d.result().ok()).isFalse();
        assertThat(f.read(1)).isEmpty();
    }

    @Test
    void aDomainWithoutHandlerAnswersInvalidAtOnce() {
        int devId = f.bind("pri0");
        int ioas = f.t.ioasAlloc();
        f.faultAlloc();
        f.attach(devId, f.iopfHwpt(devId, ioas, IOMMU_HWPT_ALLOC_PASID));
        f.attachRc(devId, 7, f.pasidHwpt(devId, ioas)).ok(); // PASID 7 on a HWPT without a fault queue
        Dma d = f.startDma("pri0", 7, IOVA, 8, false, null);
        assertThat(d.done()).isTrue();
        assertThat(d.result().ok()).isFalse();
        assertThat(f.read(1)).isEmpty();
        assertThat(hw.pageRequestsQueued()).isEqualTo(1);
    }

    @Test
    void withoutPriEnabledTheDmaFaultsAndIsRecorded() {
        int devId = f.bind("pri0");
        int ioas = f.t.ioasAlloc();
        f.attach(devId, ioas); // no fault queue: I/O page faults stay off
        assertThat(f.device("pri0").pri().enabled()).isFalse();
        Dma d = f.startDma("pri0", IOVA, 8);
        assertThat(d.result().ok()).isFalse();
        assertThat(hw.pageRequestsQueued()).isZero();
        assertThat(hw.read32(VtdHardware.FSTS) & VtdHardware.FSTS_PPF).isNotZero();
    }

    @Test
    void attachNeedsPriOnDeviceAndUnit() {
        int devId = f.bind("plain0");
        int ioas = f.t.ioasAlloc();
        f.faultAlloc();
        int hwpt = f.iopfHwpt(devId, ioas, IOMMU_HWPT_ALLOC_PASID);
        f.attachRc(devId, hwpt).fails(Errno.ENODEV);
        f.attachRc(devId, 3, hwpt).fails(Errno.ENODEV);
        assertThat(f.attach(devId, ioas)).isNotEqualTo(hwpt); // the device is still usable
        try (IopfFixture noPri = new IopfFixture(IopfFixture.platform("vtd", false))) {
            int id = noPri.bind("pri0");
            int ioas2 = noPri.t.ioasAlloc();
            noPri.faultAlloc();
            noPri.attachRc(id, noPri.iopfHwpt(id, ioas2)).fails(Errno.ENODEV);
        }
    }

    @Test
    void priEnableSetsPreInTheContextEntryAndDetachClearsIt() {
        int[] s = setUp();
        long ctx = contextEntry();
        assertThat(f.dev.physical().readLong(ctx) & ContextEntry.PRE).isNotZero();
        assertThat(f.device("pri0").pri().enabled()).isTrue();
        f.detach(s[0], 0).ok();
        assertThat(f.dev.physical().readLong(ctx) & ContextEntry.PRE).isZero();
        assertThat(f.device("pri0").pri().enabled()).isFalse();
        // A request now is refused by the unit: fault 0x47 recorded, the group answered Invalid.
        long recorded = hw.read32(VtdHardware.FSTS) & VtdHardware.FSTS_PPF;
        assertThat(recorded).isZero();
        hw.pageRequest(sid, false, 0, true, false, false, false, true, 3, IOVA);
        assertThat(hw.read32(VtdHardware.FSTS) & VtdHardware.FSTS_PPF).isNotZero();
        f.device("pri0").pri().deliver();
        assertThat(f.device("pri0").pri().unexpectedResponses()).isEqualTo(1);
    }

    private long contextEntry() {
        long root = hw.read64(VtdHardware.RTADDR) & ~0xFFFL;
        long half = RootEntry.halfAddress(root, sid >>> 8, sid & 0xFF);
        return ContextEntry.address(f.dev.physical().readLong(half) & RootEntry.POINTER_MASK, sid & 0xFF);
    }

    @Test
    void detachAnswersQueuedAndReadGroupsInvalid() {
        int[] s = setUp();
        Dma queued = f.startDma("pri0", IOVA, 8);
        Dma read = f.startDma("pri0", IOVA + PAGE, 8);
        Pgfault first = f.read(1).get(0);
        assertThat(first.addr()).isEqualTo(IOVA);
        assertThat(f.poll() & OpenFile.POLLIN).isNotZero();
        f.detach(s[0], 0).ok();
        assertThat(queued.done()).isTrue();
        assertThat(read.done()).isTrue();
        assertThat(queued.result().ok()).isFalse();
        assertThat(read.result().ok()).isFalse();
        assertThat(f.poll()).isEqualTo(OpenFile.POLLOUT);
        assertThat(f.respond(first.cookie(), IOMMUFD_PAGE_RESP_SUCCESS)).isEqualTo(-Errno.EINVAL.value());
    }

    @Test
    void replacingTheHwptAnswersTheOldOnesGroups() {
        int[] s = setUp();
        Dma d = f.startDma("pri0", IOVA, 8);
        int other = f.iopfHwpt(s[0], s[1]);
        f.attach(s[0], other);
        assertThat(d.result().ok()).isFalse();
        assertThat(f.read(1)).isEmpty();
        assertThat(f.device("pri0").pri().enabled()).isTrue(); // still on: the new HWPT has a queue too
        f.attach(s[0], s[1]); // an auto domain: no queue, page requests off
        assertThat(f.device("pri0").pri().enabled()).isFalse();
    }

    @Test
    void requestsOfAGroupAreReadTogether() {
        setUp();
        // The first request sets PRS.PPR and fires the event; the others find PPR set.
        assertThat(hw.pageRequest(sid, false, 0, true, false, false, false, false, 9, IOVA)).isTrue();
        assertThat(hw.pageRequest(sid, false, 0, true, true, false, false, false, 9, IOVA + PAGE)).isFalse();
        assertThat(hw.pageRequest(sid, false, 0, true, false, false, false, true, 9, IOVA + 2 * PAGE)).isFalse();
        vtd.handlePageRequests();
        List<Pgfault> none = new ArrayList<>();
        assertThat(f.readRaw(2L * IopfFixture.PGFAULT_SIZE, none)).isEqualTo(-Errno.EINVAL.value());
        List<Pgfault> group = f.read(8);
        assertThat(group).extracting(Pgfault::addr).containsExactly(IOVA, IOVA + PAGE, IOVA + 2 * PAGE);
        assertThat(group).extracting(Pgfault::cookie).containsOnly(group.get(0).cookie());
        assertThat(group).extracting(Pgfault::flags).containsExactly(0, 0, IOMMU_PGFAULT_FLAGS_LAST_PAGE);
        assertThat(group).extracting(Pgfault::perm).containsExactly(IOMMU_PGFAULT_PERM_READ,
                IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE, IOMMU_PGFAULT_PERM_READ);
    }

    @Test
    void overflowDropsRequestsAnswersDroppedLastPagesAndRecovers() {
        setUp();
        IommuDevice pri0 = f.device("pri0");
        hw.write32(VtdHardware.PECTL, VtdHardware.PECTL_IM); // the handler does not run meanwhile
        int slots = (PAGE << VtdIommu.PRQ_ORDER) / 32 - 1;
        for (int i = 0; i < slots; i++) {
            assertThat(hw.pageRequest(sid, false, 0, true, false, false, false, false, i & 0x1FF, IOVA)).isFalse();
        }
        assertThat(hw.read32(VtdHardware.PRS)).isEqualTo(VtdHardware.PRS_PPR);
        assertThat(hw.read32(VtdHardware.PECTL) & VtdHardware.PECTL_IP).isNotZero();
        hw.pageRequest(sid, false, 0, true, false, false, false, true, 1, IOVA);
        assertThat(hw.read32(VtdHardware.PRS) & VtdHardware.PRS_PRO).isNotZero();
        assertThat(hw.pageRequestsDropped()).isEqualTo(1);
        pri0.pri().deliver();
        assertThat(pri0.pri().unexpectedResponses()).isEqualTo(1); // the dropped last page got Success
        hw.write32(VtdHardware.PECTL, 0);
        assertThat(hw.takePendingPageRequestEvent()).isTrue();
        vtd.handlePageRequests();
        assertThat(hw.read32(VtdHardware.PRS)).isZero();
        assertThat(vtd.pageRequestOverflows()).isEqualTo(1);
        assertThat(IoPageFault.partialCount(pri0)).isZero();
        // The queue works again.
        Dma d = f.startDma("pri0", IOVA, 8);
        assertThat(f.read(1)).hasSize(1);
        assertThat(d.done()).isFalse();
    }

    @Test
    void faultFdErrnos() {
        setUp();
        f.startDma("pri0", IOVA, 8);
        f.startDma("pri0", IOVA + PAGE, 8);
        assertThat(f.readRaw(IopfFixture.PGFAULT_SIZE + 1, null)).isEqualTo(-Errno.ESPIPE.value());
        assertThat(f.t.process().fds().get(f.faultFd).read(f.t.process(), f.t.buffer(), IopfFixture.PGFAULT_SIZE, 8))
                .isEqualTo(-Errno.ESPIPE.value());
        assertThat(f.readRaw(0, null)).isEqualTo(-Errno.EINVAL.value());
        assertThat(f.t.process().read(f.faultFd, 0, IopfFixture.PGFAULT_SIZE)).isEqualTo(-Errno.EFAULT.value());
        List<Pgfault> both = f.read(2);
        assertThat(both).extracting(Pgfault::cookie).containsExactly(1, 2);
        assertThat(f.readRaw(IopfFixture.PGFAULT_SIZE, null)).isZero();
        assertThat(f.respond(1, 2)).isEqualTo(-Errno.EINVAL.value()); // unknown code
        assertThat(f.respond(9, IOMMUFD_PAGE_RESP_INVALID)).isEqualTo(-Errno.EINVAL.value());
        long va = f.t.userAlloc(IopfFixture.RESPONSE_SIZE);
        assertThat(f.t.process().write(f.faultFd, va, IopfFixture.RESPONSE_SIZE - 1))
                .isEqualTo(-Errno.ESPIPE.value());
        assertThat(f.t.process().write(f.faultFd, 0, IopfFixture.RESPONSE_SIZE)).isEqualTo(-Errno.EFAULT.value());
        // The first answer is taken, the bad second stops the write: the count says one.
        assertThat(f.respond(1, IOMMUFD_PAGE_RESP_INVALID, 1, IOMMUFD_PAGE_RESP_INVALID))
                .isEqualTo(IopfFixture.RESPONSE_SIZE);
        assertThat(f.respond(2, IOMMUFD_PAGE_RESP_INVALID)).isEqualTo(IopfFixture.RESPONSE_SIZE);
        // Cookies are reused lowest first.
        f.startDma("pri0", IOVA, 8);
        assertThat(f.read(1).get(0).cookie()).isEqualTo(1);
    }

    @Test
    void theFaultObjectOutlivesItsFdAndHwptsAsReferencesSay() {
        int[] s = setUp();
        Rc busy = f.t.destroy(f.faultId);
        busy.fails(Errno.EBUSY);
        assertThat(f.t.process().close(f.faultFd)).isZero();
        f.t.destroy(f.faultId).fails(Errno.EBUSY); // the HWPT holds it
        f.detach(s[0], 0).ok();
        f.t.destroy(s[2]).ok();
        f.t.destroy(f.faultId).ok();
    }

    @Test
    void aNestedHwptWithAFaultQueueGetsTheGuestsFirstStageFaults() {
        int devId = f.bind("pri0");
        int ioas = f.t.ioasAlloc();
        f.faultAlloc();
        int parent = f.t.hwptAlloc(devId, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT).ok().u32("out_hwpt_id");
        long s1Root = 0x20_0000L;
        mapPage(ioas, s1Root, (byte) 0); // the guest's empty first-stage root, at its GPA
        byte[] s1 = new byte[24];
        java.nio.ByteBuffer.wrap(s1).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(8, s1Root).putInt(16, 48);
        int nested = f.t.hwptAlloc(devId, parent, f.faultId, IOMMU_HWPT_FAULT_ID_VALID, VtdIommu.IOMMU_HWPT_DATA_VTD_S1,
                f.t.userCopy(s1), s1.length).ok().u32("out_hwpt_id");
        f.attach(devId, nested);
        Dma d = f.startDma("pri0", IOVA, 8);
        Pgfault p = f.read(1).get(0);
        assertThat(p.addr()).isEqualTo(IOVA);
        assertThat(p.flags()).isEqualTo(IOMMU_PGFAULT_FLAGS_LAST_PAGE);
        f.respond(p.cookie(), IOMMUFD_PAGE_RESP_INVALID);
        assertThat(d.result().fault().name()).isEqualTo("FS_ENTRY_NOT_PRESENT");
    }

    @Test
    void hwptAllocAndFaultQueueAllocErrnos() {
        int devId = f.bind("pri0");
        int ioas = f.t.ioasAlloc();
        f.faultAlloc();
        f.t.hwptAlloc(devId, ioas, 999, IOMMU_HWPT_FAULT_ID_VALID, IOMMU_HWPT_DATA_NONE, 0, 0).fails(Errno.ENOENT);
        f.t.hwptAlloc(devId, ioas, ioas, IOMMU_HWPT_FAULT_ID_VALID, IOMMU_HWPT_DATA_NONE, 0, 0).fails(Errno.ENOENT);
        f.t.hwptAlloc(devId, ioas, f.faultId, IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_NEST_PARENT,
                IOMMU_HWPT_DATA_NONE, 0, 0).fails(Errno.EOPNOTSUPP);
        // fault_id is ignored without FAULT_ID_VALID.
        int plain = f.t.hwptAlloc(devId, ioas, 999, 0, IOMMU_HWPT_DATA_NONE, 0, 0).ok().u32("out_hwpt_id");
        f.attach(devId, plain);
        assertThat(f.device("pri0").pri().enabled()).isFalse();
        f.t.ioctl(io.uiommu.uapi.Ioctl.IOMMU_FAULT_QUEUE_ALLOC,
                io.uiommu.testing.IommufdTestClient.cmd(io.uiommu.uapi.Ioctl.IOMMU_FAULT_QUEUE_ALLOC).set("flags", 1))
                .fails(Errno.EOPNOTSUPP);
        // The failed allocations left nothing behind: the fault object is held only by its fd.
        f.t.destroy(f.faultId).fails(Errno.EBUSY);
        f.t.process().close(f.faultFd);
        f.t.destroy(f.faultId).ok();
    }

    @Test
    void closingTheFaultFdKeepsGroupsUntilTheDeviceLeaves() {
        int[] s = setUp();
        Dma d = f.startDma("pri0", IOVA, 8);
        assertThat(f.t.process().close(f.faultFd)).isZero();
        assertThat(d.done()).isFalse(); // the HWPT still holds the queue; nobody answered
        f.detach(s[0], 0).ok();
        assertThat(d.result().ok()).isFalse();
    }

    @Test
    void closingTheIommufdAnswersEverything() {
        setUp();
        Dma queued = f.startDma("pri0", IOVA, 8);
        Dma read = f.startDma("pri0", IOVA + PAGE, 8);
        f.read(1);
        f.t.process().close(f.faultFd);
        f.close();
        assertThat(queued.result().ok()).isFalse();
        assertThat(read.result().ok()).isFalse();
        assertThat(f.device("pri0").pri().enabled()).isFalse();
        assertThat(f.device("pri0").pri().outstanding()).isZero();
    }

    @Test
    void readinessListenerHearsQueueingAndDraining() {
        setUp();
        int[] calls = new int[1];
        f.t.process().fds().get(f.faultFd).setReadinessListener(() -> calls[0]++);
        f.startDma("pri0", IOVA, 8);
        assertThat(calls[0]).isEqualTo(1);
        f.read(1);
        assertThat(calls[0]).isEqualTo(2);
    }
}
