package io.prefill.search;

import java.util.List;

/**
 * How much of one head's dense softmax falls inside its planted structure, over sampled rows.
 *
 * @param inside    mean mass inside the structure
 * @param lowestRow the lowest single row's mass inside
 * @param parts     mean mass per part of the structure, in {@link PlantedHead#parts()} order
 */
record StructureMass(PlantedHead head, double inside, double lowestRow, double[] parts) {

    static StructureMass of(PlantedHead head, PlantedDocument doc, float[] q, float[] k, int d, int[] rows) {
        double[] parts = new double[head.parts().size()];
        double inside = 0, lowest = 1;
        for (int i : rows) {
            double[] row = rowByPart(head, doc, q, k, d, i);
            double rowInside = 0;
            for (int p = 0; p < row.length; p++) {
                parts[p] += row[p] / rows.length;
                rowInside += row[p];
            }
            inside += rowInside / rows.length;
            lowest = Math.min(lowest, rowInside);
        }
        return new StructureMass(head, inside, lowest, parts);
    }

    /** Row i's softmax of q_i . k_j / sqrt(d) over keys j <= i, summed per part. */
    private static double[] rowByPart(PlantedHead head, PlantedDocument doc, float[] q, float[] k, int d, int i) {
        double[] logits = new double[i + 1];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j <= i; j++) {
            double dot = 0;
            for (int c = 0; c < d; c++) dot += (double) q[i * d + c] * k[j * d + c];
            logits[j] = dot / Math.sqrt(d);
            max = Math.max(max, logits[j]);
        }
        double total = 0;
        double[] parts = new double[head.parts().size()];
        for (int j = 0; j <= i; j++) {
            double p = Math.exp(logits[j] - max);
            total += p;
            int part = head.part(doc, i, j);
            if (part >= 0) parts[part] += p;
        }
        for (int p = 0; p < parts.length; p++) parts[p] /= total;
        return parts;
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder(String.format("inside %.5f (lowest row %.5f)", inside, lowestRow));
        List<String> names = head.parts();
        for (int p = 0; p < parts.length; p++) s.append(String.format(", %s %.3f", names.get(p), parts[p]));
        return s.toString();
    }
}
