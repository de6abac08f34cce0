package io.prefill.model;

/** An f32 tensor [rows, cols] on the heap, for tests. */
record ArrayTensor(String name, float[] values, long[] shape) implements TensorView {
    static ArrayTensor of(String name, float[] values, int rows, int cols) {
        if (values.length != rows * cols) throw new IllegalArgumentException(values.length + " values for " + rows + "x" + cols);
        return new ArrayTensor(name, values, new long[] {rows, cols});
    }

    @Override public DType dtype() { return DType.F32; }

    @Override public long[] shape() { return shape.clone(); }

    @Override public float get(long i) { return values[Math.toIntExact(i)]; }

    @Override
    public void readRow(int r, float[] dst) {
        int cols = (int) shape[1];
        System.arraycopy(values, r * cols, dst, 0, cols);
    }

    @Override public float[] toFloatArray() { return values.clone(); }
}
