package io.uiommu.iommufd;

/**
 * An object of an iommufd context. {@code users} counts long-term references: the ID table holds
 * one, and every object, attachment or fd that depends on this one holds another, so DESTROY is
 * refused (EBUSY) while anything but the table holds it.
 *
 * <p>Locking: guarded by the owning context's lock.
 */
public abstract class IommufdObject {
    private final ObjectType type;
    int id;
    private int users = 1;

    protected IommufdObject(ObjectType type) {
        this.type = type;
    }

    public final ObjectType type() {
        return type;
    }

    /** The ID user space sees; 0 until the object is allocated in a table. */
    public final int id() {
        return id;
    }

    public final int users() {
        return users;
    }

    /** Takes a long-term reference (the holder now blocks DESTROY). */
    public final void get() {
        users++;
    }

    /** Drops a long-term reference taken with {@link #get()}. */
    public final void put() {
        if (users <= 1) {
            throw new IllegalStateException(type + " " + id + " reference underflow");
        }
        users--;
    }

    /** Releases what the object holds; called once, after it left the ID table. */
    protected abstract void destroy();
}
