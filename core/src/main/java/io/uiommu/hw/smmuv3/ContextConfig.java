package io.uiommu.hw.smmuv3;

import io.uiommu.iommu.CacheFill;
import io.uiommu.pt.ArmLpaeTable;

/**
 * A decoded, valid CD as the configuration cache holds it, for one (StreamID, SubstreamID).
 * Immutable once published; {@code fill} records the CD words (and the L1 descriptor) in audit mode.
 *
 * @param epd0     TTB0 walks disabled: every access faults
 * @param update   HTTU: hardware sets AF and clears AP[2] of DBM leaves (CD.HA / CD.HD)
 * @param record   CD.R: stage-1 faults are written to the event queue
 */
record ContextConfig(int sid, int ssid, int asid, ArmLpaeTable format, long ttb0, boolean epd0, boolean update,
        boolean record, CacheFill fill, String label) {
}
