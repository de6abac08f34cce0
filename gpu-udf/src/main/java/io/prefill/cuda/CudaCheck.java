package io.prefill.cuda;

import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/** Checks every CUresult; errors carry what was being done plus CUDA's own name and text. */
public final class CudaCheck {
    private CudaCheck() { }

    public static void check(int result, String what) {
        if (result != CUresult.CUDA_SUCCESS) throw new CudaException(what + ": " + describe(result), result);
    }

    static String describe(int result) {
        String[] name = new String[1];
        String[] text = new String[1];
        try {
            JCudaDriver.cuGetErrorName(result, name);
            JCudaDriver.cuGetErrorString(result, text);
        } catch (Throwable t) {
            name[0] = CUresult.stringFor(result);
        }
        return (name[0] != null ? name[0] : CUresult.stringFor(result)) + " (" + result + ")"
                + (text[0] != null ? ": " + text[0] : "");
    }
}
