package io.uiommu.uapi;

import io.uiommu.iommu.DirtyBitmap;
import io.uiommu.mem.UserMemory;

/**
 * The user's dirty bitmap of IOMMU_HWPT_GET_DIRTY_BITMAP (iova_bitmap): bit n stands for
 * [iova + n*pageSize, +pageSize). Recording sets bits in the caller's memory and never clears any.
 */
final class UserBitmap implements DirtyBitmap {
    private final UserMemory memory;
    private final long data;
    private final long iova;
    private final long length;
    private final long pageSize;

    UserBitmap(UserMemory memory, long data, long iova, long length, long pageSize) {
        this.memory = memory;
        this.data = data;
        this.iova = iova;
        this.length = length;
        this.pageSize = pageSize;
    }

    @Override
    public void record(long at, long len) {
        long start = Math.max(at, iova);
        long end = Math.min(at + len, iova + length);
        if (start >= end) {
            return;
        }
        long firstBit = (start - iova) / pageSize;
        long lastBit = (end - 1 - iova) / pageSize;
        byte[] one = new byte[1];
        long byteIndex = -1;
        for (long bit = firstBit; bit <= lastBit; bit++) {
            if (bit / 8 != byteIndex) {
                if (byteIndex >= 0) {
                    memory.write(data + byteIndex, one, 0, 1);
                }
                byteIndex = bit / 8;
                memory.read(data + byteIndex, one, 0, 1);
            }
            one[0] |= (byte) (1 << (bit % 8));
        }
        memory.write(data + byteIndex, one, 0, 1);
    }
}
