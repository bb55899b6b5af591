package io.uiommu.bench;

import io.uiommu.proc.SimulatedProcess;
import io.uiommu.uapi.Ioctl;
import io.uiommu.uapi.IommufdStructs;
import io.uiommu.uapi.TestStructs;
import io.uiommu.uapi.UapiConstants;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Setup ioctls the benchmarks share, issued as raw structs. */
final class BenchSupport {
    private BenchSupport() {
    }

    private static ByteBuffer struct(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN).putInt(0, size);
    }

    private static void ioctl(SimulatedProcess p, int fd, Ioctl op, long va, ByteBuffer b) {
        p.write(va, b.array(), 0, b.capacity());
        long rc = p.ioctl(fd, op.code(), va);
        if (rc < 0) {
            throw new IllegalStateException(op + " failed: " + rc);
        }
        p.read(va, b.array(), 0, b.capacity());
    }

    static int ioasAlloc(SimulatedProcess p, int fd, long va) {
        ByteBuffer b = struct(IommufdStructs.IOMMU_IOAS_ALLOC.size());
        ioctl(p, fd, Ioctl.IOMMU_IOAS_ALLOC, va, b);
        return b.getInt(IommufdStructs.IOMMU_IOAS_ALLOC.offset("out_ioas_id"));
    }

    static void mockDomain(SimulatedProcess p, int fd, long va, int ioas) {
        ByteBuffer b = struct(TestStructs.IOMMU_TEST_CMD.size());
        b.putInt(4, UapiConstants.IOMMU_TEST_OP_MOCK_DOMAIN).putInt(8, ioas);
        ioctl(p, fd, Ioctl.IOMMU_TEST_CMD, va, b);
    }

    static void unmapAll(SimulatedProcess p, int fd, long va, int ioas) {
        ByteBuffer b = struct(IommufdStructs.IOMMU_IOAS_UNMAP.size());
        b.putInt(4, ioas).putLong(8, 0).putLong(16, -1L);
        ioctl(p, fd, Ioctl.IOMMU_IOAS_UNMAP, va, b);
    }
}
