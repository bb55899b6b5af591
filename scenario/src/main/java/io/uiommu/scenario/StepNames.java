package io.uiommu.scenario;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The variables a step reads and the ones it sets, for the reader's check and replay's skip logic. */
final class StepNames {
    private StepNames() {
    }

    static Set<String> uses(Step step) {
        List<Value> values = new ArrayList<>();
        switch (step) {
            case Step.Close c -> {
                values.add(c.fd());
                if (c.expect() != null) {
                    values.add(c.expect().ret());
                }
            }
            case Step.Dup d -> values.add(d.fd());
            case Step.Mmap m -> {
                values.add(m.length());
                values.add(m.addr());
                values.add(m.fd());
                values.add(m.offset());
                if (m.expect() != null) {
                    values.add(m.expect().ret());
                }
            }
            case Step.Munmap m -> {
                values.add(m.addr());
                values.add(m.length());
            }
            case Step.Write w -> {
                values.add(w.addr());
                values.add(w.fill());
                values.add(w.length());
                if (w.fields() != null) {
                    args(w.fields().values(), values);
                }
            }
            case Step.Read r -> {
                values.add(r.addr());
                values.add(r.length());
                values.add(r.expectFill());
                if (r.expect() != null) {
                    values.addAll(r.expect().values());
                }
            }
            case Step.Open o -> {
                if (o.expect() != null) {
                    values.add(o.expect().ret());
                }
            }
            case Step.Eventfd e -> {
                values.add(e.initval());
                values.add(e.flags());
            }
            case Step.ExpectEventfd e -> {
                values.add(e.fd());
                values.add(e.count());
            }
            case Step.Mmio r -> {
                values.add(r.bar());
                values.add(r.offset());
                values.add(r.width());
                values.add(r.value());
                values.add(r.expect());
            }
            case Step.FdRead f -> {
                values.add(f.offset());
                values.add(f.fd());
                values.add(f.addr());
                values.add(f.count());
                if (f.expect() != null) {
                    values.add(f.expect().ret());
                }
            }
            case Step.FdWrite f -> {
                values.add(f.offset());
                values.add(f.fd());
                values.add(f.addr());
                values.add(f.count());
                if (f.expect() != null) {
                    values.add(f.expect().ret());
                }
            }
            case Step.Ioctl i -> {
                values.add(i.fd());
                values.add(i.arg());
                args(i.args().values(), values);
                if (i.tail() != null) {
                    args(List.of(i.tail()), values);
                }
                values.add(i.expect().ret());
                values.addAll(i.expect().fields().values());
            }
            case Step.Bind b -> {
                values.add(b.fd());
                if (b.expect() != null) {
                    values.add(b.expect().ret());
                }
            }
            case Step.Attach a -> {
                values.add(a.fd());
                values.add(a.dev());
                values.add(a.pasid());
                values.add(a.pt());
            }
            case Step.Detach d -> {
                values.add(d.fd());
                values.add(d.dev());
                values.add(d.pasid());
            }
            case Step.Dma d -> {
                values.add(d.fd());
                values.add(d.dev());
                values.add(d.pasid());
                values.add(d.iova());
                values.add(d.fill());
                values.add(d.length());
                values.add(d.expect().level());
                values.add(d.expect().code());
                values.add(d.expect().bytesDone());
            }
            case Step.Audit a -> values.add(a.expectReports());
            case Step.DirtyBitmap b -> {
                values.add(b.fd());
                values.add(b.hwpt());
                values.add(b.iova());
                values.add(b.length());
                values.add(b.pageSize());
            }
            case Step.ExpectObjects e -> {
                values.add(e.fd());
                values.add(e.count());
                if (e.ids() != null) {
                    values.addAll(e.ids());
                }
                if (e.types() != null) {
                    values.addAll(e.types().values());
                }
            }
            default -> {
            }
        }
        Set<String> out = new LinkedHashSet<>();
        for (Value v : values) {
            if (v != null) {
                out.addAll(v.variables());
            }
        }
        return out;
    }

    private static void args(Collection<Arg> args, List<Value> out) {
        for (Arg a : args) {
            switch (a) {
                case Arg.Scalar s -> out.add(s.value());
                case Arg.Inline in -> out.addAll(in.values());
                case Arg.StructArray sa -> {
                    out.add(sa.count());
                    for (Map<String, Arg> item : sa.items()) {
                        args(item.values(), out);
                    }
                }
                case Arg.IntegerArray ia -> {
                    out.add(ia.count());
                    out.addAll(ia.items());
                }
                case Arg.StructRef r -> args(r.fields().values(), out);
            }
        }
    }

    static Set<String> defines(Step step) {
        return switch (step) {
            case Step.Open o -> Set.of(o.as());
            case Step.Dup d -> Set.of(d.as());
            case Step.Mmap m -> m.as() == null ? Set.of() : Set.of(m.as());
            case Step.Ioctl i -> new LinkedHashSet<>(i.save().values());
            case Step.Read r -> r.save() == null ? Set.of() : new LinkedHashSet<>(r.save().values());
            case Step.Bind b -> Set.of(b.as());
            case Step.Attach a -> a.as() == null ? Set.of() : Set.of(a.as());
            case Step.Eventfd e -> Set.of(e.as());
            case Step.Mmio r -> r.save() == null ? Set.of() : Set.of(r.save());
            default -> Set.of();
        };
    }
}
