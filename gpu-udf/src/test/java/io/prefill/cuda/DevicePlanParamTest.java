package io.prefill.cuda;

import static org.junit.jupiter.api.Assertions.*;

import io.prefill.cuda.KernelSignatures.Kind;
import io.prefill.cuda.KernelSignatures.Param;
import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jcuda.driver.CUdeviceptr;
import org.junit.jupiter.api.Test;

/**
 * A plan as a kernel parameter, without a GPU: every kernel that reads or writes a plan takes it as
 * one struct (CsrPlan, CsrPlanOut of plan_tiles.cuh), never as loose lists; the 32 bytes a
 * DevicePlan passes are its lists' device addresses in the struct's field order; and a buffer's
 * address follows it through arena offsets and slices.
 */
class DevicePlanParamTest {
    private static final Pattern LIST_NAME = Pattern.compile("(?i)\\w*(range|col)(ptr|data)");

    /**
     * Kernels that build a plan's lists one at a time, before it is a plan: the block-sparse plan's
     * (block_sparse.cuh) and the CSR pointers every plan builder scans from its counts.
     */
    private static final List<String> PARTIAL_PLAN_BUILDERS = List.of("bs_plan_pointers_k", "bs_row_topk_k",
            "exclusive_scan_pair_k");

    @Test
    void kernelsTakePlansAsStructs() {
        Map<String, String> structs = new TreeMap<>();
        List<String> loose = new ArrayList<>();
        KernelSignatures.all().forEach((kernel, params) -> {
            StringBuilder s = new StringBuilder();
            for (Param p : params) {
                if (p.kind() == Kind.PLAN) s.append(s.length() == 0 ? "" : " ").append(p.type()).append(' ').append(p.name());
                if (p.kind() == Kind.POINTER && LIST_NAME.matcher(p.name()).matches() && !PARTIAL_PLAN_BUILDERS.contains(kernel))
                    loose.add(kernel + "(" + p + ")");
            }
            if (s.length() > 0) structs.put(kernel, s.toString());
        });
        assertEquals(List.of(), loose, "a plan's lists passed one by one");
        Map<String, String> want = new TreeMap<>();
        for (int d : new int[] {64, 128}) {
            for (String v : List.of("attention_plan_mma_d", "attention_plan_mma_lse_d", "attention_plan_wgmma_d",
                    "attention_plan_wgmma_lse_d", "kept_mass_d"))
                want.put(v + d, "CsrPlan plan");
            want.put("attention_pair_plan_mma_d" + d, "CsrPlan pair CsrPlan blk");
            want.put("attention_pair_plan_mma_head_major_d" + d, "CsrPlan pair CsrPlan blk");
            want.put("attention_pair_plan_ws_d" + d, "CsrPlan pair CsrPlan blk");
            want.put("attention_pair_plan_ws_tma_d" + d, "CsrPlan pair CsrPlan blk");
        }
        want.put("plan_entries_k", "CsrPlan plan");
        want.put("pair_plan_count_k", "CsrPlan plan");
        want.put("pair_plan_fill_k", "CsrPlan plan CsrPlanOut out");
        want.put("plan_pick_count_k", "CsrPlan a CsrPlan b");
        want.put("plan_pick_fill_k", "CsrPlan a CsrPlan b CsrPlanOut out");
        want.put("vs_plan_fill_k", "CsrPlanOut out");
        assertEquals(want, structs);
    }

    @Test
    void aDevicePlanPassesItsListsInTheStructsFieldOrder() throws Exception {
        DeviceBuffer block = new DeviceBuffer(new CUdeviceptr(), 0x7f3a_0000_0000L, 1 << 20, "block");
        DevicePlan plan = new DevicePlan(2, 100, block.slice(0, 20, "rangePtr"), block.slice(256, 64, "rangeData"),
                block.slice(512, 20, "colPtr"), block.slice(768, 40, "colData"), 4, 10);
        long[] param = plan.kernelParam();
        for (String struct : List.of("CsrPlan", "CsrPlanOut")) {
            List<String> fields = fields(struct);
            assertEquals(List.of("rangePtr", "rangeData", "colPtr", "colData"), fields, struct);
            assertEquals(fields.size(), param.length, "one 8-byte address per field");
            for (int i = 0; i < fields.size(); i++) {
                Method list = DevicePlan.class.getMethod(fields.get(i));
                assertEquals(((DeviceBuffer) list.invoke(plan)).address(), param[i], struct + "." + fields.get(i));
            }
        }
        assertArrayEquals(new long[] {0x7f3a_0000_0000L, 0x7f3a_0000_0100L, 0x7f3a_0000_0200L, 0x7f3a_0000_0300L}, param);
    }

    @Test
    void aBufferKnowsItsAddressThroughSlices() {
        long base = 0x7f3a_1234_5600L;
        DeviceBuffer block = new DeviceBuffer(new CUdeviceptr(), base, 4096, "block");
        DeviceBuffer a = block.slice(512, 1024, "a");
        assertEquals(base + 512, a.address());
        assertEquals(base + 512 + 100, a.slice(100, 24, "b").address());
        assertEquals(base, block.slice(0, 0, "empty").address());
    }

    /** The fields of a struct of plan_tiles.cuh, in order, each a pointer (8 bytes). */
    private static List<String> fields(String struct) throws IOException {
        String src = Files.readString(KernelSignatures.CUDA.resolve("plan_tiles.cuh"));
        Matcher m = Pattern.compile("struct\\s+" + struct + "\\s*\\{([^}]*)\\};").matcher(src);
        assertTrue(m.find(), struct + " not in plan_tiles.cuh");
        List<String> names = new ArrayList<>();
        for (String decl : m.group(1).replaceAll("//[^\n]*", "").split(";")) {
            if (decl.isBlank()) continue;
            Matcher f = Pattern.compile("^\\s*(?:const\\s+)?int\\s*\\*\\s*(\\w+)\\s*$").matcher(decl);
            assertTrue(f.matches(), struct + ": a field that is not an int pointer: " + decl.trim());
            names.add(f.group(1));
        }
        return names;
    }
}
