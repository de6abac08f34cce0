package io.prefill.job;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The cluster scripts, run for real with stand-ins for nvidia-smi and spark-submit. */
class ScriptsTest {
    private static final Path SCRIPTS = Path.of("..", "scripts").toAbsolutePath().normalize();

    @TempDir
    Path tmp;

    @Test
    void discoveryScriptListsEveryGpuIndexAsSparkExpects() throws Exception {
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        executable(bin.resolve("nvidia-smi"), "#!/bin/sh\nprintf '0\\n1\\n 3\\n'\n");
        Result r = run(List.of("bash", SCRIPTS.resolve("gpu-discovery.sh").toString()),
                Map.of("PATH", bin + ":/usr/bin:/bin"));
        assertEquals(0, r.code, r.err);
        assertEquals("{\"name\": \"gpu\", \"addresses\": [\"0\",\"1\",\"3\"]}", r.out.trim());
    }

    @Test
    void discoveryScriptFailsClearlyWithoutADriver() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Result r = run(List.of("/bin/bash", SCRIPTS.resolve("gpu-discovery.sh").toString()), Map.of("PATH", empty.toString()));
        assertTrue(r.code != 0);
        assertTrue(r.err.contains("nvidia-smi not found"), r.err);
    }

    @Test
    void localModeRunsTwoTasksPerGpuWithoutAskingTheSchedulerForGpus() throws Exception {
        Path fakeSubmit = executable(tmp.resolve("spark-submit"), "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done\n");
        Path jar = Files.writeString(tmp.resolve("job-spark.jar"), "not a real jar");
        Result r = run(List.of("bash", SCRIPTS.resolve("submit.sh").toString(), "local", "--input", "in.jsonl"),
                Map.of("SPARK_SUBMIT", fakeSubmit.toString(), "JOB_JAR", jar.toString(), "GPUS_PER_EXECUTOR", "2",
                        "TASKS_PER_GPU", "2", "PATH", "/usr/bin:/bin"));
        assertEquals(0, r.code, r.err);
        List<String> args = r.out.lines().toList();
        assertTrue(args.contains("local[4]"), r.out);
        assertTrue(args.contains("spark.driver.resource.gpu.amount=2"), r.out);
        assertTrue(args.stream().noneMatch(a -> a.startsWith("spark.task.resource.gpu") || a.startsWith("spark.executor.")),
                "local mode's scheduler offers no GPUs: a task asking for one would never start: " + r.out);
        int memory = args.indexOf("--driver-memory");
        assertTrue(memory >= 0 && args.get(memory + 1).equals("32g"), "the driver runs the tasks: " + r.out);
        assertTrue(args.contains("io.prefill.job.PrefillJob"), r.out);
        assertEquals(List.of(jar.toString(), "--backend", "cuda", "--input", "in.jsonl"),
                args.subList(args.size() - 5, args.size()), "the GPUs it allocates are used");
    }

    @Test
    void standaloneExecutorsOwnGpusAndTasksTakeTheirShare() throws Exception {
        Path fakeSubmit = executable(tmp.resolve("spark-submit"), "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done\n");
        Path jar = Files.writeString(tmp.resolve("job-spark.jar"), "not a real jar");
        Result r = run(List.of("bash", SCRIPTS.resolve("submit.sh").toString(), "standalone", "--input", "in.jsonl"),
                Map.of("SPARK_SUBMIT", fakeSubmit.toString(), "JOB_JAR", jar.toString(), "MASTER", "spark://h:7077",
                        "TASKS_PER_GPU", "2", "PATH", "/usr/bin:/bin"));
        assertEquals(0, r.code, r.err);
        List<String> args = r.out.lines().toList();
        assertTrue(args.contains("spark.executor.resource.gpu.amount=1"), r.out);
        assertTrue(args.contains("spark.task.resource.gpu.amount=0.5"), r.out);
        assertTrue(args.contains("spark.executor.resource.gpu.discoveryScript=" + SCRIPTS.resolve("gpu-discovery.sh")), r.out);
        assertTrue(args.contains("spark://h:7077"), r.out);
    }

    @Test
    void aBackendGivenToTheJobIsLeftAsItIs() throws Exception {
        Path fakeSubmit = executable(tmp.resolve("spark-submit"), "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done\n");
        Path jar = Files.writeString(tmp.resolve("job-spark.jar"), "not a real jar");
        Result r = run(List.of("bash", SCRIPTS.resolve("submit.sh").toString(), "local", "--input", "in.jsonl",
                        "--backend", "auto"),
                Map.of("SPARK_SUBMIT", fakeSubmit.toString(), "JOB_JAR", jar.toString(), "PATH", "/usr/bin:/bin"));
        assertEquals(0, r.code, r.err);
        List<String> args = r.out.lines().toList();
        assertEquals(List.of(jar.toString(), "--input", "in.jsonl", "--backend", "auto"),
                args.subList(args.size() - 5, args.size()));
    }

    @Test
    void unknownModeIsRefused() throws Exception {
        Path jar = Files.writeString(tmp.resolve("job-spark.jar"), "x");
        Result r = run(List.of("bash", SCRIPTS.resolve("submit.sh").toString(), "mesos"),
                Map.of("JOB_JAR", jar.toString(), "PATH", "/usr/bin:/bin"));
        assertEquals(2, r.code);
        assertTrue(r.err.contains("mesos"));
    }

    private Path executable(Path file, String content) throws IOException {
        Files.writeString(file, content);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        return file;
    }

    private record Result(int code, String out, String err) { }

    private Result run(List<String> command, Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().clear();
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Result(p.waitFor(), out, err);
    }
}
