package io.uiommu.iommu;

import io.uiommu.iommufd.Errno;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.mem.UserMemory;

/**
 * Vendor data a user passes by (type, pointer, length), such as HWPT_ALLOC's data: read only when
 * the driver asks, with the kernel's copy rules (iommu_copy_struct_from_user).
 */
public record UserData(int type, UserMemory memory, long uptr, long length) {

    /**
     * Copies the vendor struct of {@code kernelSize} bytes: a shorter user struct is zero-filled but
     * must reach {@code minSize}; a longer one is refused (6.12 does not accept newer user structs
     * here); both EINVAL, as is another type; EFAULT for a bad pointer.
     */
    public byte[] copyStruct(int expectedType, int minSize, int kernelSize) {
        if (type != expectedType) {
            throw new IommufdException(Errno.EINVAL, "unexpected data type");
        }
        return copy(memory, uptr, length, minSize, kernelSize);
    }

    /**
     * iommu_copy_struct_to_user: writes back {@code data} (the kernel's struct), no more than the
     * user's length; EINVAL for another type or a user struct shorter than {@code minSize}, EFAULT
     * for a bad pointer.
     */
    public void writeStruct(int expectedType, int minSize, byte[] data) {
        if (type != expectedType) {
            throw new IommufdException(Errno.EINVAL, "unexpected data type");
        }
        if (length < minSize) {
            throw new IommufdException(Errno.EINVAL, "user data length " + length);
        }
        memory.write(uptr, data, 0, (int) Math.min(length, data.length));
    }

    static byte[] copy(UserMemory memory, long uptr, long userSize, int minSize, int kernelSize) {
        if (userSize < minSize || userSize > kernelSize) {
            throw new IommufdException(Errno.EINVAL, "user data length " + userSize);
        }
        byte[] out = new byte[kernelSize];
        memory.read(uptr, out, 0, (int) userSize);
        return out;
    }
}
