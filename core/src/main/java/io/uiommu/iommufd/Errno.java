package io.uiommu.iommufd;

/** Linux errno values (x86-64 / asm-generic numbering) that iommufd and its users return. */
public enum Errno {
    EPERM(1), ENOENT(2), ESRCH(3), EIO(5), ENXIO(6), E2BIG(7), EBADF(9), EAGAIN(11), ENOMEM(12),
    EACCES(13), EFAULT(14), EBUSY(16), EEXIST(17), ENODEV(19), EINVAL(22), ENFILE(23), EMFILE(24), ENOTTY(25), ENOSPC(28),
    ESPIPE(29), ERANGE(34), EDEADLK(35), EBADE(52), EOVERFLOW(75), EBADFD(77), EMSGSIZE(90),
    EOPNOTSUPP(95), EADDRINUSE(98);

    private final int value;

    Errno(int value) {
        this.value = value;
    }

    /** The positive errno number as C sees it. */
    public int value() {
        return value;
    }

    private static final Errno[] BY_VALUE = new Errno[128];

    static {
        for (Errno e : values()) {
            BY_VALUE[e.value] = e;
        }
    }

    /** The errno with this number, or null when uiommu never produces it. */
    public static Errno of(int value) {
        return value > 0 && value < BY_VALUE.length ? BY_VALUE[value] : null;
    }

    /** Parses "EINVAL" or "22". */
    public static Errno parse(String text) {
        String t = text.trim();
        if (!t.isEmpty() && Character.isDigit(t.charAt(0))) {
            Errno e = of(Integer.parseInt(t));
            if (e == null) {
                throw new IllegalArgumentException("unknown errno " + t);
            }
            return e;
        }
        return valueOf(t.toUpperCase(java.util.Locale.ROOT));
    }
}
