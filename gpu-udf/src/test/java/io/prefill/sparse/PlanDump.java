package io.prefill.sparse;

import io.prefill.cpu.PlanAttention;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Our side of the semantic comparison with MInference (bench/minference_semantics.py): reads
 * single-head cases, plans them with the CPU planner and writes what it keeps.
 *
 * <p>{@code java ... io.prefill.sparse.PlanDump DIR}. DIR/cases.tsv has one case a line:
 * {@code name n d pattern a b attend given} with pattern one of vertical_slash (a, b = vertical
 * and slash size), a_shape (n_init, n_local), block_sparse (top blocks); attend and given are 0/1.
 * Inputs are little-endian: name.q.f32 and name.k.f32 ([n, d] float32, RoPE applied),
 * name.v.f32 when attend, and when given name.refsel.i32 = [count, columns..., count, offsets...],
 * a selection made elsewhere (the reference's).
 *
 * <p>Outputs: name.ours.plan.i32 (our plan from our own estimate), name.ours.sel.i32 (our
 * vertical-slash selection, same layout as refsel), name.given.plan.i32 (our plan of the given
 * selection), name.ours.out.f32 (PlanAttention over our plan, [n, d]). A plan file is
 * [blocks, then per query block: ranges, columns, start0, end0, ..., column0, ...].
 */
public final class PlanDump {
    private PlanDump() { }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) throw new IllegalArgumentException("usage: PlanDump DIR");
        Path dir = Path.of(args[0]);
        for (String line : Files.readAllLines(dir.resolve("cases.tsv"))) {
            if (line.isBlank() || line.startsWith("#")) continue;
            String[] f = line.trim().split("\\s+");
            if (f.length != 8) throw new IllegalArgumentException("cases.tsv: expected 8 fields, got: " + line);
            String name = f[0];
            int n = Integer.parseInt(f[1]), d = Integer.parseInt(f[2]);
            int a = Integer.parseInt(f[4]), b = Integer.parseInt(f[5]);
            HeadPattern pattern = switch (f[3]) {
                case "vertical_slash" -> new HeadPattern.VerticalSlash(a, b);
                case "a_shape" -> new HeadPattern.AShape(a, b);
                case "block_sparse" -> new HeadPattern.BlockSparse(a);
                case "dense" -> new HeadPattern.Dense();
                default -> throw new IllegalArgumentException("cases.tsv: unknown pattern " + f[3]);
            };
            float[] q = readFloats(dir.resolve(name + ".q.f32"), n * d);
            float[] k = readFloats(dir.resolve(name + ".k.f32"), n * d);
            BlockPlan ours = HeadPlanner.plan(pattern, 0, q, k, n, d);
            writePlan(dir.resolve(name + ".ours.plan.i32"), ours);
            if (pattern instanceof HeadPattern.VerticalSlash vs) {
                VerticalSlashIndex index = VerticalSlashEstimator.estimate(q, k, n, d, vs.verticalSize(), vs.slashSize());
                writeInts(dir.resolve(name + ".ours.sel.i32"), selection(index.columns(), index.offsets()));
            }
            if (f[7].equals("1")) {
                int[] sel = readInts(dir.resolve(name + ".refsel.i32"));
                int nc = sel[0];
                int[] cols = java.util.Arrays.copyOfRange(sel, 1, 1 + nc);
                int[] offs = java.util.Arrays.copyOfRange(sel, 2 + nc, 2 + nc + sel[1 + nc]);
                writePlan(dir.resolve(name + ".given.plan.i32"), RangePlan.fromVerticalSlash(n, new VerticalSlashIndex(cols, offs)));
            }
            if (f[6].equals("1")) {
                float[] v = readFloats(dir.resolve(name + ".v.f32"), n * d);
                float[] out = new float[n * d];
                PlanAttention.attend(q, k, v, n, d, ours, out);
                writeFloats(dir.resolve(name + ".ours.out.f32"), out);
            }
            System.out.printf("[plan-dump] %s n=%d %s density=%.4f%n", name, n, pattern, ours.density());
        }
    }

    private static int[] selection(int[] cols, int[] offs) {
        int[] out = new int[2 + cols.length + offs.length];
        out[0] = cols.length;
        System.arraycopy(cols, 0, out, 1, cols.length);
        out[1 + cols.length] = offs.length;
        System.arraycopy(offs, 0, out, 2 + cols.length, offs.length);
        return out;
    }

    static void writePlan(Path file, BlockPlan plan) throws IOException {
        List<Integer> out = new ArrayList<>();
        out.add(plan.numQueryBlocks());
        for (int qb = 0; qb < plan.numQueryBlocks(); qb++) {
            int[] r = plan.ranges(qb), c = plan.columns(qb);
            out.add(r.length / 2);
            out.add(c.length);
            for (int x : r) out.add(x);
            for (int x : c) out.add(x);
        }
        writeInts(file, out.stream().mapToInt(Integer::intValue).toArray());
    }

    private static float[] readFloats(Path file, int count) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        if (buf.remaining() != 4L * count) throw new IllegalArgumentException(file + ": expected " + count + " floats");
        float[] x = new float[count];
        buf.asFloatBuffer().get(x);
        return x;
    }

    private static int[] readInts(Path file) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        int[] x = new int[buf.remaining() / 4];
        buf.asIntBuffer().get(x);
        return x;
    }

    private static void writeInts(Path file, int[] x) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(4 * x.length).order(ByteOrder.LITTLE_ENDIAN);
        buf.asIntBuffer().put(x);
        Files.write(file, buf.array());
    }

    private static void writeFloats(Path file, float[] x) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(4 * x.length).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(x);
        Files.write(file, buf.array());
    }
}
