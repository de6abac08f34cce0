package io.prefill.cuda;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * The fatbin that nvcc built into the jar at build time (see src/main/cuda/build-kernels.sh),
 * plus the build's note saying how it was built or why it was not.
 */
public final class KernelBinary {
    static final String FATBIN = "/io/prefill/cuda/prefill-kernels.fatbin";
    static final String STATUS = "/io/prefill/cuda/prefill-kernels.status";
    private static final String NOT_BUILT = "kernels were not built (nvcc was not found at build time)";

    private KernelBinary() { }

    public static Optional<byte[]> fatbin() {
        try (InputStream in = KernelBinary.class.getResourceAsStream(FATBIN)) {
            if (in == null) return Optional.empty();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            out.write(0);  // cuModuleLoadData wants a NUL-terminated image; harmless for fatbins
            return Optional.of(out.toByteArray());
        } catch (IOException e) {
            throw new CudaException("cannot read kernel resource " + FATBIN + ": " + e.getMessage());
        }
    }

    /** The build note, e.g. "kernels were not built (nvcc was not found at build time)". */
    public static String buildNote() {
        try (InputStream in = KernelBinary.class.getResourceAsStream(STATUS)) {
            if (in == null) return NOT_BUILT;
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            return NOT_BUILT;
        }
    }
}
