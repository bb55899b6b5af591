package io.uiommu.iommufd;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * The ID table of one context (the kernel's objects xarray): IDs 1..INT_MAX shared by every object
 * kind, lowest free first, reserved when creation starts and visible only once it succeeded.
 *
 * <p>Locking: guarded by the owning context's lock.
 */
public final class ObjectTable {
    private static final Object RESERVED = new Object();
    /** An ID whose object the kernel destroyed on its own and never frees before close (Linux 6.18 vDEVICE). */
    private static final Object TOMBSTONE = new Object();

    private final TreeMap<Integer, Object> slots = new TreeMap<>();

    /** Reserves the lowest free ID for an object being created. */
    public int reserve() {
        int id = 1;
        for (Integer used : slots.keySet()) {
            if (used != id) {
                break;
            }
            id++;
        }
        if (id <= 0) {
            throw new IommufdException(Errno.ENOMEM, "object IDs exhausted");
        }
        slots.put(id, RESERVED);
        return id;
    }

    /** Publishes an object under an ID from {@link #reserve()}. */
    public <T extends IommufdObject> T finalize(int id, T object) {
        if (slots.get(id) != RESERVED) {
            throw new IllegalStateException("ID " + id + " was not reserved");
        }
        object.id = id;
        slots.put(id, object);
        return object;
    }

    /** Releases a reserved ID whose creation failed. */
    public void abort(int id) {
        if (slots.get(id) == RESERVED) {
            slots.remove(id);
        }
    }

    /** Reserves, creates and publishes in one step; a failed creation frees the ID. */
    public <T extends IommufdObject> T add(java.util.function.IntFunction<T> create) {
        int id = reserve();
        try {
            return finalize(id, create.apply(id));
        } catch (RuntimeException | Error e) {
            abort(id);
            throw e;
        }
    }

    /** The object with this ID and type, or ENOENT (missing, reserved, or another kind). */
    public <T extends IommufdObject> T get(int id, Class<T> kind) {
        Object o = slots.get(id);
        if (kind.isInstance(o)) {
            return kind.cast(o);
        }
        throw new IommufdException(Errno.ENOENT, "no " + kind.getSimpleName() + " with ID " + id);
    }

    /** The object with this ID of any kind, or null. */
    public IommufdObject find(int id) {
        return slots.get(id) instanceof IommufdObject o ? o : null;
    }

    /** IOMMU_DESTROY: EBUSY while anything but the table holds the object. */
    public void destroyUser(int id, Class<? extends IommufdObject> kind) {
        IommufdObject o = get(id, kind);
        if (o.users() != 1) {
            throw new IommufdException(Errno.EBUSY, o.type() + " " + id + " is in use");
        }
        slots.remove(id);
        o.destroy();
    }

    /** Removes an object the kernel destroys on its own (auto domains, unbound devices), without the EBUSY check. */
    public void remove(IommufdObject o) {
        if (slots.get(o.id()) == o) {
            slots.remove(o.id());
            o.destroy();
        }
    }

    /**
     * Destroys an object and keeps its ID taken until the context closes: DESTROY and lookups see
     * ENOENT, and the ID is never handed out again (REMOVE_OBJ_TOMBSTONE).
     */
    public void tombstone(IommufdObject o) {
        if (slots.get(o.id()) == o) {
            slots.put(o.id(), TOMBSTONE);
            o.destroy();
        }
    }

    /** Published objects, in ID order. */
    public List<IommufdObject> objects() {
        List<IommufdObject> out = new ArrayList<>();
        for (Object o : slots.values()) {
            if (o instanceof IommufdObject obj) {
                out.add(obj);
            }
        }
        return out;
    }

    public boolean isEmpty() {
        return slots.isEmpty();
    }

    /**
     * Release on close: destroys every object nothing else holds, over and over, until none is left.
     * Anything still held after no progress is a leak and is destroyed anyway.
     */
    public void destroyAll() {
        while (!slots.isEmpty()) {
            boolean progress = false;
            for (IommufdObject o : objects()) {
                if (o.users() == 1 && slots.get(o.id()) == o) {
                    slots.remove(o.id());
                    o.destroy();
                    progress = true;
                }
            }
            if (!progress) {
                slots.values().removeIf(v -> v == RESERVED || v == TOMBSTONE);
                List<IommufdObject> left = objects();
                if (left.isEmpty()) {
                    return;
                }
                IommufdObject o = left.getFirst();
                slots.remove(o.id());
                o.destroy();
            }
        }
    }
}
