package io.uiommu.iommu;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.mem.UserMemory;

/**
 * An array of vendor entries in user memory (struct iommu_user_data_array), as HWPT_INVALIDATE
 * passes it. The driver reads entries one by one and reports how many it handled.
 */
public final class UserDataArray {
    private final int type;
    private final UserMemory memory;
    private final long uptr;
    private final int entryLength;
    private final int entryCount;
    private int handled;

    public UserDataArray(int type, UserMemory memory, long uptr, int entryLength, int entryCount) {
        this.type = type;
        this.memory = memory;
        this.uptr = uptr;
        this.entryLength = entryLength;
        this.entryCount = entryCount;
    }

    public int type() {
        return type;
    }

    public int entryCount() {
        return entryCount;
    }

    public int handled() {
        return handled;
    }

    public void setHandled(int n) {
        handled = n;
    }

    /** Bytes of one entry as the user declared it. */
    public int entryLength() {
        return entryLength;
    }

    /**
     * Entry {@code index} with copy_struct_from_user's rules, as iommu_copy_struct_from_full_user_array
     * applies them: a shorter entry is zero-filled, a longer one must be zero past {@code kernelSize}
     * (E2BIG), EFAULT for a bad pointer.
     */
    public byte[] copyEntryExtensible(int index, int kernelSize) {
        byte[] out = new byte[kernelSize];
        long at = uptr + (long) index * entryLength;
        memory.read(at, out, 0, Math.min(entryLength, kernelSize));
        if (entryLength > kernelSize) {
            byte[] tail = new byte[entryLength - kernelSize];
            memory.read(at + kernelSize, tail, 0, tail.length);
            for (byte b : tail) {
                if (b != 0) {
                    throw new IommufdException(Errno.E2BIG, "non-zero bytes past the entry");
                }
            }
        }
        return out;
    }

    /** Entry {@code index} copied with the kernel's rules (iommu_copy_struct_from_user_array). */
    public byte[] copyEntry(int expectedType, int index, int minSize, int kernelSize) {
        if (type != expectedType) {
            throw new IommufdException(Errno.EINVAL, "unexpected data type");
        }
        return UserData.copy(memory, uptr + (long) index * entryLength, entryLength, minSize, kernelSize);
    }
}
