package io.uiommu.testing;

import io.uiommu.iommufd.Errno;

/**
 * What one ioctl returned, as a C caller sees it: the non-negative result or an errno, plus the
 * argument struct as the kernel left it in user memory (null for integer-argument ioctls).
 * {@link #ok()} and {@link #fails(Errno)} are the selftest's {@code ASSERT_EQ(0, ...)} and
 * {@code EXPECT_ERRNO(e, ...)}.
 */
public final class Rc {
    private final String what;
    private final long ret;
    private final Cmd cmd;

    public Rc(String what, long ret, Cmd cmd) {
        this.what = what;
        this.ret = ret;
        this.cmd = cmd;
    }

    /** The raw system-call result: {@code >= 0} on success, minus the errno on failure. */
    public long ret() {
        return ret;
    }

    /** 0 on success, else the positive errno number. */
    public int errnoValue() {
        return ret < 0 ? (int) -ret : 0;
    }

    /** The errno, or null on success (or for a number uiommu has no name for). */
    public Errno errno() {
        return ret < 0 ? Errno.of((int) -ret) : null;
    }

    public boolean isOk() {
        return ret >= 0;
    }

    /** The argument struct after the call (outputs included). */
    public Cmd cmd() {
        return cmd;
    }

    public long u64(String field) {
        return cmd.u64(field);
    }

    public int u32(String field) {
        return cmd.u32(field);
    }

    /** Any field, zero-extended. */
    public long get(String field) {
        return cmd.get(field);
    }

    /** Asserts the call returned exactly 0. */
    public Rc ok() {
        if (ret != 0) {
            throw new AssertionError(what + ": expected success (0) but got " + describe(ret) + args());
        }
        return this;
    }

    /** Asserts the call failed with exactly this errno. */
    public Rc fails(Errno expected) {
        if (ret != -expected.value()) {
            throw new AssertionError(what + ": expected " + expected + "(" + expected.value() + ") but got "
                    + describe(ret) + args());
        }
        return this;
    }

    /** Asserts the call failed with this errno number (for numbers compared to another call's errno). */
    public Rc failsWith(int errnoValue) {
        if (ret != -errnoValue) {
            throw new AssertionError(what + ": expected " + describe(-errnoValue) + " but got " + describe(ret)
                    + args());
        }
        return this;
    }

    private String args() {
        return cmd == null ? "" : " for " + cmd;
    }

    public static String describe(long ret) {
        if (ret >= 0) {
            return ret == 0 ? "success (0)" : "result " + ret;
        }
        Errno e = Errno.of((int) -ret);
        return (e == null ? "errno" : e.name()) + "(" + -ret + ")";
    }

    @Override
    public String toString() {
        return what + " -> " + describe(ret);
    }
}
