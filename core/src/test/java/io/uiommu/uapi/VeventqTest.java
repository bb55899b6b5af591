package io.uiommu.uapi;

import io.uiommu.iommufd.Errno;
import io.uiommu.proc.OpenFile;
import io.uiommu.testing.Cmd;
import io.uiommu.testing.MockViommuFixture;
import io.uiommu.testing.Rc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static io.uiommu.iommufd.Errno.EBUSY;
import static io.uiommu.iommufd.Errno.EEXIST;
import static io.uiommu.iommufd.Errno.EFAULT;
import static io.uiommu.iommufd.Errno.EINVAL;
import static io.uiommu.iommufd.Errno.ENOENT;
import static io.uiommu.iommufd.Errno.EOPNOTSUPP;
import static io.uiommu.iommufd.Errno.ESPIPE;
import static io.uiommu.uapi.UapiConstants.IOMMU_VEVENTQ_FLAG_LOST_EVENTS;
import static io.uiommu.uapi.UapiConstants.IOMMU_VEVENTQ_TYPE_ARM_SMMUV3;
import static io.uiommu.uapi.UapiConstants.IOMMU_VEVENTQ_TYPE_DEFAULT;
import static io.uiommu.uapi.UapiConstants.IOMMU_VEVENTQ_TYPE_SELFTEST;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * IOMMU_VEVENTQ_ALLOC and the vEVENTQ fd over the mock vIOMMU, as upstream's selftest drives them
 * (TEST_F(iommufd_viommu, vdevice_alloc) and friends): every errno, the record bytes, sequence
 * numbers, the LOST_EVENTS header on overflow, poll and object lifetime.
 */
class VeventqTest {
    static final int EVENT_BYTES = 12; // iommufd_vevent_header + iommu_viommu_event_selftest

    final MockViommuFixture f = new MockViommuFixture();

    @AfterEach
    void tearDown() {
        f.close();
    }

    int[] veventq(int depth) {
        Rc rc = f.veventqAlloc(f.viommu, IOMMU_VEVENTQ_TYPE_SELFTEST, depth).ok();
        return new int[] {rc.u32("out_veventq_id"), rc.u32("out_veventq_fd")};
    }

    @Test
    void allocRefusesWhatUpstreamRefuses() {
        Cmd ok = Cmd.of(IommufdStructs.IOMMU_VEVENTQ_ALLOC).set("viommu_id", f.viommu)
                .set("type", IOMMU_VEVENTQ_TYPE_SELFTEST).set("veventq_depth", 2);
        f.c.ioctl(Ioctl.IOMMU_VEVENTQ_ALLOC, Cmd.of(IommufdStructs.IOMMU_VEVENTQ_ALLOC).set("flags", 1)
                .set("viommu_id", f.viommu).set("type", IOMMU_VEVENTQ_TYPE_SELFTEST).set("veventq_depth", 2)).fails(EOPNOTSUPP);
        f.c.ioctl(Ioctl.IOMMU_VEVENTQ_ALLOC, Cmd.of(IommufdStructs.IOMMU_VEVENTQ_ALLOC).set("__reserved", 1)
                .set("viommu_id", f.viommu).set("type", IOMMU_VEVENTQ_TYPE_SELFTEST).set("veventq_depth", 2)).fails(EOPNOTSUPP);
        f.veventqAlloc(f.viommu, IOMMU_VEVENTQ_TYPE_DEFAULT, 2).fails(EOPNOTSUPP);
        f.veventqAlloc(f.viommu, IOMMU_VEVENTQ_TYPE_SELFTEST, 0).fails(EINVAL);
        f.veventqAlloc(9999, IOMMU_VEVENTQ_TYPE_SELFTEST, 2).fails(ENOENT);
        f.veventqAlloc(f.ioas, IOMMU_VEVENTQ_TYPE_SELFTEST, 2).fails(ENOENT);
        byte[] short31 = java.util.Arrays.copyOf(ok.bytes(), 31);
        f.c.ioctl(Ioctl.IOMMU_VEVENTQ_ALLOC.code(), short31, 31).fails(EINVAL);

        int[] q = veventq(2);
        assertThat(q[0]).isPositive();
        assertThat(q[1]).isGreaterThanOrEqualTo(0);
        f.veventqAlloc(f.viommu, IOMMU_VEVENTQ_TYPE_SELFTEST, 2).fails(EEXIST);
        // upstream does not match the type against the vIOMMU: another type is a second queue
        f.veventqAlloc(f.viommu, IOMMU_VEVENTQ_TYPE_ARM_SMMUV3, 1).ok();
        assertThat(f.c.process().fds().get(q[1]).name()).isEqualTo("anon_inode:[iommufd-viommu-event]");
    }

    @Test
    void triggerNeedsANestedAttachWithAVdeviceAndAQueue() {
        f.triggerVevent(f.md.idevId()).fails(ENOENT); // attached to the IOAS's HWPT
        f.replace(f.nested).fails(ENOENT); // nested attach needs a vDEVICE first
        f.vdeviceAlloc(f.md.idevId(), 0x99).ok();
        f.replace(f.nested).ok();
        f.triggerVevent(f.md.idevId()).fails(EOPNOTSUPP); // no vEVENTQ of the selftest type
        f.triggerVevent(9999).fails(ENOENT);
    }

    @Test
    void eventRecordIsHeaderThenVirtId() {
        int[] q = veventq(2);
        f.attachNested(0x99);
        f.triggerVevent(f.md.idevId()).ok();
        MockViommuFixture.ReadResult r = f.read(q[1], 64);
        assertThat(r.ret()).isEqualTo(EVENT_BYTES);
        assertThat(r.u32(0)).as("flags").isZero();
        assertThat(r.u32(4)).as("sequence").isZero();
        assertThat(r.u32(8)).as("virt_id").isEqualTo(0x99);
        assertThat(f.read(q[1], 64).ret()).as("nothing left, no blocking").isZero();
    }

    @Test
    void vdeviceChangesTheVirtIdSeen() {
        int[] q = veventq(4);
        int vdev = f.attachNested(0x99);
        f.triggerVevent(f.md.idevId()).ok();
        f.vdeviceAlloc(f.md.idevId(), 0x99).fails(EEXIST);
        f.replace(f.ioas).ok();
        f.c.destroy(vdev).ok();
        f.attachNested(0x88);
        f.triggerVevent(f.md.idevId()).ok();
        MockViommuFixture.ReadResult r = f.read(q[1], 64);
        assertThat(r.ret()).isEqualTo(2 * EVENT_BYTES);
        assertThat(r.u32(8)).isEqualTo(0x99);
        assertThat(r.u32(EVENT_BYTES + 4)).as("sequence").isEqualTo(1);
        assertThat(r.u32(EVENT_BYTES + 8)).isEqualTo(0x88);
    }

    @Test
    void overflowEndsTheQueueWithALostEventsHeader() {
        int[] q = veventq(2);
        f.attachNested(0x88);
        for (int i = 0; i < 3; i++) {
            f.triggerVevent(f.md.idevId()).ok(); // the third is lost, which is not an error
        }
        MockViommuFixture.ReadResult r = f.read(q[1], 64);
        assertThat(r.ret()).isEqualTo(2 * EVENT_BYTES + 8);
        assertThat(r.u32(4)).isZero();
        assertThat(r.u32(EVENT_BYTES + 4)).isEqualTo(1);
        assertThat(r.u32(2 * EVENT_BYTES)).as("flags").isEqualTo(IOMMU_VEVENTQ_FLAG_LOST_EVENTS);
        assertThat(r.u32(2 * EVENT_BYTES + 4)).as("the lost event's sequence").isEqualTo(2);
        // the overflow is gone after the reads: the next event is whole and numbered on
        f.triggerVevent(f.md.idevId()).ok();
        r = f.read(q[1], 64);
        assertThat(r.ret()).isEqualTo(EVENT_BYTES);
        assertThat(r.u32(0)).isZero();
        assertThat(r.u32(4)).isEqualTo(3);
    }

    @Test
    void furtherLossesMoveTheHeaderOn() {
        int[] q = veventq(1);
        f.attachNested(0x88);
        for (int i = 0; i < 4; i++) {
            f.triggerVevent(f.md.idevId()).ok();
        }
        MockViommuFixture.ReadResult r = f.read(q[1], 64);
        assertThat(r.ret()).isEqualTo(EVENT_BYTES + 8);
        assertThat(r.u32(EVENT_BYTES)).isEqualTo(IOMMU_VEVENTQ_FLAG_LOST_EVENTS);
        assertThat(r.u32(EVENT_BYTES + 4)).as("the last lost sequence").isEqualTo(3);
    }

    @Test
    void anEventThatFitsReplacesTheHeaderAndTheGapTellsTheLoss() {
        int[] q = veventq(2);
        f.attachNested(0x88);
        for (int i = 0; i < 3; i++) {
            f.triggerVevent(f.md.idevId()).ok();
        }
        assertThat(f.read(q[1], EVENT_BYTES).ret()).as("one whole event").isEqualTo(EVENT_BYTES);
        f.triggerVevent(f.md.idevId()).ok(); // room for one: replaces the LOST_EVENTS header
        MockViommuFixture.ReadResult r = f.read(q[1], 64);
        assertThat(r.ret()).isEqualTo(2 * EVENT_BYTES);
        assertThat(r.u32(4)).isEqualTo(1);
        assertThat(r.u32(EVENT_BYTES)).as("no LOST_EVENTS flag").isZero();
        assertThat(r.u32(EVENT_BYTES + 4)).as("2 is missing").isEqualTo(3);
    }

    @Test
    void readsWholeEventsOnly() {
        int[] q = veventq(4);
        f.attachNested(0x88);
        f.triggerVevent(f.md.idevId()).ok();
        f.triggerVevent(f.md.idevId()).ok();
        assertThat(f.read(q[1], EVENT_BYTES - 1).ret()).as("too small for one").isZero();
        assertThat(f.read(q[1], 0).ret()).isZero();
        assertThat(f.read(q[1], 2 * EVENT_BYTES - 1).ret()).isEqualTo(EVENT_BYTES);
        MockViommuFixture.ReadResult r = f.read(q[1], EVENT_BYTES);
        assertThat(r.u32(4)).as("the second, not a torn first").isEqualTo(1);
    }

    @Test
    void aBadBufferIsEfaultAndLosesNothing() {
        int[] q = veventq(2);
        f.attachNested(0x88);
        f.triggerVevent(f.md.idevId()).ok();
        assertThat(f.c.process().read(q[1], 0x10, 64)).isEqualTo(-EFAULT.value());
        assertThat(f.read(q[1], 64).ret()).isEqualTo(EVENT_BYTES);
    }

    @Test
    void fileOpsAsUpstream() {
        int[] q = veventq(2);
        OpenFile file = f.c.process().fds().get(q[1]);
        long buf = f.c.userAlloc(64);
        assertThat(file.read(f.c.process(), buf, 64, 8)).isEqualTo(-ESPIPE.value());
        assertThat(f.c.process().write(q[1], buf, 8)).as("no write op").isEqualTo(-EINVAL.value());
        assertThat(file.poll(f.c.process())).as("nothing waits, and never POLLOUT").isZero();
        AtomicInteger woken = new AtomicInteger();
        file.setReadinessListener(woken::incrementAndGet);
        f.attachNested(0x88);
        f.triggerVevent(f.md.idevId()).ok();
        assertThat(woken.get()).isPositive();
        assertThat(file.poll(f.c.process())).isEqualTo(OpenFile.POLLIN | OpenFile.POLLRDNORM);
        f.read(q[1], 64);
        assertThat(file.poll(f.c.process())).isZero();
    }

    @Test
    void lifetime() {
        int[] q = veventq(2);
        f.c.destroy(f.viommu).fails(EBUSY); // held by the nested HWPT and the vEVENTQ
        f.c.destroy(q[0]).fails(EBUSY); // held by its fd
        assertThat(f.c.process().close(q[1])).isZero();
        f.c.destroy(q[0]).ok();
        f.c.destroy(q[0]).fails(ENOENT);
        f.c.destroy(f.nested).ok();
        f.c.destroy(f.viommu).ok();
    }

    @Test
    void theFdOutlivesTheIommufdFd() {
        MockViommuFixture g = new MockViommuFixture();
        try {
            Rc rc = g.veventqAlloc(g.viommu, IOMMU_VEVENTQ_TYPE_SELFTEST, 2).ok();
            int fd = rc.u32("out_veventq_fd");
            g.attachNested(0x88);
            g.triggerVevent(g.md.idevId()).ok();
            assertThat(g.c.process().close(g.c.fd())).isZero();
            assertThat(g.read(fd, 64).ret()).as("the fd holds the context").isEqualTo(EVENT_BYTES);
            assertThat(g.c.process().close(fd)).isZero();
            assertThat(g.c.process().close(fd)).isEqualTo(-Errno.EBADF.value());
        } finally {
            g.c.process().exit();
        }
    }
}
