package io.uiommu.proc;

/**
 * A reference to an eventfd taken from a process (struct eventfd_ctx): an interrupt source adds to
 * its counter. Signalling after the process closed its fd still works, as for the kernel's
 * reference; {@link #release()} drops the reference.
 *
 * <p>Locking: implementations are safe to signal from any thread.
 */
public interface EventSignal {
    /** eventfd_signal: adds {@code n} to the counter and wakes readers. */
    void signal(long n);

    /** eventfd_ctx_put. */
    void release();
}
