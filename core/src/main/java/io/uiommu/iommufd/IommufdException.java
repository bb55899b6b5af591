package io.uiommu.iommufd;

/**
 * A failed operation inside core, carrying the errno the kernel returns for it. The dispatcher turns
 * it into the ioctl's return value. No stack trace: it is a value, thrown on expected paths.
 */
public final class IommufdException extends RuntimeException {
    private final Errno errno;

    public IommufdException(Errno errno, String message) {
        super(message, null, false, false);
        this.errno = errno;
    }

    public IommufdException(Errno errno) {
        this(errno, errno.name());
    }

    public Errno errno() {
        return errno;
    }
}
