package io.uiommu.iommu;

/**
 * A domain's I/O page fault handler (domain->iopf_handler). It takes a whole group and becomes
 * responsible for answering it through {@link IoPageFault#groupResponse}; false refuses the group,
 * which the core then answers FAILURE.
 */
@FunctionalInterface
public interface IopfHandler {
    boolean handle(IopfGroup group);
}
