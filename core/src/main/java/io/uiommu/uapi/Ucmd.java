package io.uiommu.uapi;

import io.uiommu.iommufd.IommufdContext;
import io.uiommu.iommufd.IommufdException;
import io.uiommu.mem.UserMemory;
import io.uiommu.proc.UserProcess;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * One ioctl in flight (struct iommufd_ucmd): the kernel's copy of the argument struct, zero-filled
 * past what the caller passed, and the way back to the caller's memory.
 */
final class Ucmd {
    private static final VarHandle LE16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LE32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LE64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    final IommufdContext ctx;
    final UserProcess caller;
    final long userPtr;
    final int userSize;
    final byte[] cmd;

    Ucmd(IommufdContext ctx, UserProcess caller, long userPtr, int userSize, byte[] cmd) {
        this.ctx = ctx;
        this.caller = caller;
        this.userPtr = userPtr;
        this.userSize = userSize;
        this.cmd = cmd;
    }

    UserMemory memory() {
        return caller.memory();
    }

    int u8(int off) {
        return cmd[off] & 0xff;
    }

    int u16(int off) {
        return (short) LE16.get(cmd, off) & 0xffff;
    }

    int u32(int off) {
        return (int) LE32.get(cmd, off);
    }

    long u64(int off) {
        return (long) LE64.get(cmd, off);
    }

    void put8(int off, int v) {
        cmd[off] = (byte) v;
    }

    void put32(int off, int v) {
        LE32.set(cmd, off, v);
    }

    void put64(int off, long v) {
        LE64.set(cmd, off, v);
    }

    /** iommufd_ucmd_respond: copies the struct back, no more than the caller's size; EFAULT on failure. */
    void respond() {
        memory().write(userPtr, cmd, 0, Math.min(userSize, cmd.length));
    }

    /** Writes back one field only (IOMMU_OPTION copies just val64). */
    void respondField(int off, int len) {
        memory().write(userPtr + off, cmd, off, len);
    }
}
