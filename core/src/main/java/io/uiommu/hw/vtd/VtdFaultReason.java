package io.uiommu.hw.vtd;

/**
 * Scalable-mode DMA-remapping fault reasons (spec appendix A) the model records, with the code the
 * fault recording register's FR field carries. Descriptions follow the strings Linux prints for
 * these codes (drivers/iommu/intel/dmar.c); the model's {@code Translation.faultName} is the
 * constant's name.
 */
public enum VtdFaultReason {
    ROOT_TABLE_ADDRESS_INVALID(0x30, "Invalid Root Table Address"),
    ROOT_ENTRY_ACCESS(0x38, "Error attempting to access Root Entry"),
    ROOT_ENTRY_NOT_PRESENT(0x39, "Present bit in Root Entry is clear"),
    ROOT_ENTRY_RESERVED(0x3A, "Non-zero reserved field set in Root Entry"),
    CONTEXT_ENTRY_ACCESS(0x40, "Error attempting to access Context Entry"),
    CONTEXT_ENTRY_NOT_PRESENT(0x41, "Present bit in Context Entry is clear"),
    CONTEXT_ENTRY_RESERVED(0x42, "Non-zero reserved field set in the Context Entry"),
    CONTEXT_ENTRY_INVALID(0x43, "Invalid Context Entry"),
    CONTEXT_PASID_DISABLED(0x45, "PASID Enable field in Context Entry is clear"),
    CONTEXT_PASID_TOO_LARGE(0x46, "PASID is larger than the max in Context Entry"),
    CONTEXT_PRE_CLEAR(0x47, "PRE bit in a present SM context entry is clear"),
    PASID_DIRECTORY_ACCESS(0x50, "Error attempting to access the PASID Directory Entry"),
    PASID_DIRECTORY_NOT_PRESENT(0x51, "Present bit in Directory Entry is clear"),
    PASID_DIRECTORY_RESERVED(0x52, "Non-zero reserved field set in PASID Directory Entry"),
    PASID_ENTRY_ACCESS(0x58, "Error attempting to access PASID Table Entry"),
    PASID_ENTRY_NOT_PRESENT(0x59, "Present bit in PASID Table Entry is clear"),
    PASID_ENTRY_RESERVED(0x5A, "Non-zero reserved field set in PASID Table Entry"),
    PASID_ENTRY_INVALID(0x5B, "Invalid Scalable-Mode PASID Table Entry"),
    FS_ENTRY_ACCESS(0x70, "Error attempting to access first-level paging entry"),
    FS_ENTRY_NOT_PRESENT(0x71, "Present bit in first-level paging entry is clear"),
    FS_ENTRY_RESERVED(0x72, "Non-zero reserved field set in first-level paging entry"),
    FS_TABLE_BEYOND_MGAW(0x74, "First-level entry address beyond MGAW in Nested translation"),
    FS_PML_READ_NESTED(0x75, "Read permission error in FL-PML4 entry in Nested translation"),
    FS_ENTRY_READ_NESTED(0x76, "Read permission error in first-level paging entry in Nested translation"),
    FS_ENTRY_WRITE_NESTED(0x77, "Write permission error in first-level paging entry in Nested translation"),
    SS_ENTRY_ACCESS(0x78, "Error attempting to access second-level paging entry"),
    SS_ENTRY_NOT_PRESENT(0x79, "Read/Write permission error in second-level paging entry"),
    SS_ENTRY_RESERVED(0x7A, "Non-zero reserved field set in second-level paging entry"),
    SS_TABLE_POINTER_INVALID(0x7B, "Invalid second-level page table pointer"),
    FS_NON_CANONICAL(0x80, "Address in first-level translation is not canonical"),
    FS_USER_SUPERVISOR(0x81, "U/S set 0 for first-level translation with user privilege"),
    ADDRESS_BEYOND_MAX(0x83, "Address beyond the DMA hardware max"),
    SS_OUTPUT_BEYOND_MAX(0x84, "Second-level entry address beyond the max"),
    WRITE_PERMISSION(0x85, "No write permission for Write/AtomicOp request"),
    READ_PERMISSION(0x86, "No read permission for Read/AtomicOp request"),
    INTERRUPT_ADDRESS(0x87, "Invalid address-interrupt address");

    private final int code;
    private final String description;

    VtdFaultReason(int code, String description) {
        this.code = code;
        this.description = description;
    }

    /**
     * Whether a translation request (ATS) meeting this fault gets "no permission" back instead of
     * a fault record, so a function with PRI may ask for the page: entries not present and
     * permissions the tables do not grant.
     */
    public boolean pageRequestable() {
        return switch (this) {
            case FS_ENTRY_NOT_PRESENT, SS_ENTRY_NOT_PRESENT, FS_PML_READ_NESTED, FS_ENTRY_READ_NESTED,
                    FS_ENTRY_WRITE_NESTED, WRITE_PERMISSION, READ_PERMISSION -> true;
            default -> false;
        };
    }

    /** The FR value. */
    public int code() {
        return code;
    }

    public String description() {
        return description;
    }

    /** The reason for an FR value, or null. */
    public static VtdFaultReason of(int code) {
        for (VtdFaultReason r : values()) {
            if (r.code == code) {
                return r;
            }
        }
        return null;
    }
}
