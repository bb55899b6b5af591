package io.uiommu.iommufd;

import io.uiommu.mem.UserMemory;

import java.util.ArrayDeque;

/**
 * A vEVENTQ (struct iommufd_veventq, Linux 6.15): the queue through which a vIOMMU's driver hands
 * events of one type (an SMMUv3 event record with the vSID, ...) to the VMM, read from its fd.
 * Each event is read as a struct iommufd_vevent_header {flags, sequence} and the type's data.
 *
 * <p>Sequence numbers count every event the driver reported, delivered or not, in [0, INT_MAX]
 * and wrap to 0. At most {@code depth} events wait; a report into a full queue is lost and the
 * queue ends with a single IOMMU_VEVENTQ_FLAG_LOST_EVENTS header (no data) carrying the lost
 * event's sequence, moved on by every further loss. The next event that fits replaces that
 * header, so the reader sees the loss as a gap in the sequence instead.
 *
 * <p>Locking: the queue is guarded by this object's monitor (reports come from DMA threads);
 * allocation and destruction run under the context lock, and the vIOMMU's event lock is held
 * around reports so that a queue is never destroyed under one.
 */
public final class Veventq extends IommufdObject {
    static final int HEADER_BYTES = 8;
    static final int LOST_EVENTS = 1; // IOMMU_VEVENTQ_FLAG_LOST_EVENTS

    /** One queued event; its data is the type's struct, little-endian. */
    private record Vevent(int sequence, byte[] data) {
    }

    private final Viommu viommu;
    private final int veventqType;
    private final int depth;
    private final ArrayDeque<Vevent> deliver = new ArrayDeque<>();
    /** The lost-events header is queued (it is then always the last entry). */
    private boolean lostQueued;
    private int lostSequence;
    private int sequence;
    private volatile Runnable wakeup;

    private Veventq(Viommu viommu, int veventqType, int depth) {
        super(ObjectType.VEVENTQ);
        this.viommu = viommu;
        this.veventqType = veventqType;
        this.depth = depth;
    }

    /**
     * iommufd_veventq_alloc after the argument checks: EEXIST when the vIOMMU has a vEVENTQ of
     * {@code type} already. The new queue holds the vIOMMU (its DESTROY is EBUSY).
     */
    static Veventq allocate(Viommu viommu, int type, int depth) {
        synchronized (viommu.veventqs) {
            if (viommu.findVeventq(type) != null) {
                throw new IommufdException(Errno.EEXIST, "the vIOMMU has a vEVENTQ of type 0x" + Integer.toHexString(type));
            }
            Veventq q = new Veventq(viommu, type, depth);
            viommu.veventqs.add(q);
            viommu.get();
            return q;
        }
    }

    public Viommu viommu() {
        return viommu;
    }

    public int veventqType() {
        return veventqType;
    }

    public int depth() {
        return depth;
    }

    /** Who is woken when events arrive (the fd's poll readiness); one, null to remove. */
    public void setWakeup(Runnable wakeup) {
        this.wakeup = wakeup;
    }

    /** iommufd_viommu_report_event's enqueue, under the vIOMMU's event lock; {@link #wakeUp()} follows. */
    void report(byte[] data) {
        synchronized (this) {
            int seq = sequence;
            sequence = (sequence + 1) & Integer.MAX_VALUE;
            if (deliver.size() == depth) {
                lostQueued = true; // (re)queued at the tail with the lost event's sequence
                lostSequence = seq;
            } else {
                lostQueued = false;
                deliver.add(new Vevent(seq, data.clone()));
            }
        }
    }

    /** wake_up of the fd's wait queue, outside every lock (the daemon mirrors readiness from it). */
    void wakeUp() {
        Runnable w = wakeup;
        if (w != null) {
            w.run();
        }
    }

    /** Where the next sequence number starts (tests reach the wrap at INT_MAX without 2^31 reports). */
    synchronized void restartSequenceAt(int next) {
        sequence = next & Integer.MAX_VALUE;
    }

    /** Events and a lost-events header waiting to be read. */
    public synchronized boolean hasEvents() {
        return !deliver.isEmpty() || lostQueued;
    }

    /** Events waiting, not counting a lost-events header. */
    public synchronized int eventCount() {
        return deliver.size();
    }

    /**
     * read(2) of the vEVENTQ fd: whole events while they fit in {@code count} bytes, oldest first;
     * the byte count (0 when nothing waits or the first event does not fit), or minus EFAULT when
     * the first copy fails. As in the kernel, an event whose header was copied before its data
     * faulted stays queued but its header's bytes are counted.
     */
    public synchronized long read(UserMemory memory, long buf, long count) {
        long done = 0;
        byte[] header = new byte[HEADER_BYTES];
        while (!deliver.isEmpty() || lostQueued) {
            Vevent next = deliver.peekFirst();
            if (Long.compareUnsigned(done, count) >= 0 || Long.compareUnsigned(HEADER_BYTES, count - done) > 0) {
                break;
            }
            if (next != null && Long.compareUnsigned(HEADER_BYTES + next.data().length, count - done) > 0) {
                break;
            }
            int flags = next == null ? LOST_EVENTS : 0;
            int seq = next == null ? lostSequence : next.sequence();
            UserMemory.LE_INT.set(header, 0, flags);
            UserMemory.LE_INT.set(header, 4, seq);
            try {
                memory.write(buf + done, header, 0, HEADER_BYTES);
            } catch (IommufdException e) {
                return done == 0 ? -Errno.EFAULT.value() : done;
            }
            done += HEADER_BYTES;
            if (next != null) {
                try {
                    memory.write(buf + done, next.data(), 0, next.data().length);
                } catch (IommufdException e) {
                    return done; // the header's bytes count: done is never 0 here
                }
                done += next.data().length;
                deliver.removeFirst();
            } else {
                lostQueued = false;
            }
        }
        return done;
    }

    @Override
    protected void destroy() {
        synchronized (viommu.veventqs) {
            viommu.veventqs.remove(this);
        }
        synchronized (this) {
            deliver.clear();
            lostQueued = false;
        }
        viommu.put();
    }
}
