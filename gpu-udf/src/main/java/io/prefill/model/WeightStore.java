package io.prefill.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.prefill.io.BoundedFiles;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The tensors of a model directory: {@code model.safetensors}, or the shards listed by
 * {@code model.safetensors.index.json} (weight_map: tensor name -> shard file). Every file is
 * opened and validated eagerly, so a broken checkpoint fails before any computation starts.
 */
public final class WeightStore implements Closeable {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path directory;
    private final Map<String, SafetensorsFile> fileByTensor;
    private final List<SafetensorsFile> files;

    private WeightStore(Path directory, Map<String, SafetensorsFile> fileByTensor, List<SafetensorsFile> files) {
        this.directory = directory;
        this.fileByTensor = fileByTensor;
        this.files = files;
    }

    public static WeightStore open(Path directory) {
        if (!Files.isDirectory(directory)) {
            throw new ModelFormatException(directory + ": model directory not found");
        }
        Path single = directory.resolve(SINGLE_FILE);
        Path index = directory.resolve(INDEX_FILE);
        if (Files.exists(single)) {
            ModelFileLinks.check(directory, single);
            return openSingle(directory, single);
        }
        if (Files.exists(index)) {
            ModelFileLinks.check(directory, index);
            return openSharded(directory, index);
        }
        throw new ModelFormatException(directory + ": no " + SINGLE_FILE + " or " + INDEX_FILE + strayShardsHint(directory));
    }

    private static String strayShardsHint(Path directory) {
        try (Stream<Path> list = Files.list(directory)) {
            List<String> shards = list.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".safetensors")).sorted().toList();
            return shards.isEmpty() ? "" : " (found " + shards + " but no index naming which tensor is where)";
        } catch (IOException e) {
            return "";
        }
    }

    private static WeightStore openSingle(Path directory, Path file) {
        SafetensorsFile f = SafetensorsFile.open(file);
        Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
        f.tensorNames().forEach(n -> byTensor.put(n, f));
        return new WeightStore(directory, Collections.unmodifiableMap(byTensor), List.of(f));
    }

    private static WeightStore openSharded(Path directory, Path index) {
        JsonNode weightMap = readWeightMap(index);
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
        var it = weightMap.fields();
        while (it.hasNext()) {
            var e = it.next();
            String tensor = e.getKey();
            if (!e.getValue().isTextual()) {
                throw new ModelFormatException(index + ": weight_map entry for " + tensor + " must be a file name");
            }
            String shardName = e.getValue().asText();
            SafetensorsFile shard = shards.get(shardName);
            if (shard == null) {
                Path shardPath = directory.resolve(shardName).normalize();
                if (!shardPath.startsWith(directory.normalize())) {
                    throw new ModelFormatException(index + ": shard " + shardName + " lies outside the model directory");
                }
                if (!Files.exists(shardPath)) {
                    throw new ModelFormatException(index + ": shard " + shardName + " (holding " + tensor
                            + ") is missing from " + directory);
                }
                ModelFileLinks.check(directory, shardPath);
                shard = SafetensorsFile.open(shardPath);
                shards.put(shardName, shard);
            }
            if (!shard.contains(tensor)) {
                throw new ModelFormatException(index + ": maps tensor " + tensor + " to " + shard.path()
                        + ", which has no such tensor");
            }
            byTensor.put(tensor, shard);
        }
        return new WeightStore(directory, Collections.unmodifiableMap(byTensor), List.copyOf(shards.values()));
    }

    private static JsonNode readWeightMap(Path index) {
        JsonNode root;
        try {
            root = ModelConfigJson.MAPPER.readTree(BoundedFiles.readString(index, BoundedFiles.JSON_METADATA_BYTES,
                    INDEX_FILE));
        } catch (BoundedFiles.TooLargeException e) {
            throw new ModelFormatException(e.getMessage(), e);
        } catch (JsonProcessingException e) {
            throw new ModelFormatException(index + ": not valid JSON (" + e.getOriginalMessage() + ")", e);
        } catch (IOException e) {
            throw new ModelFormatException(index + ": cannot read (" + e + ")", e);
        }
        JsonNode weightMap = root == null ? null : root.get("weight_map");
        if (weightMap == null || !weightMap.isObject() || weightMap.isEmpty()) {
            throw new ModelFormatException(index + ": missing or empty \"weight_map\"");
        }
        return weightMap;
    }

    public Path directory() { return directory; }

    /** All tensor names, in file/header order. */
    public Set<String> names() { return fileByTensor.keySet(); }

    public boolean contains(String name) { return fileByTensor.containsKey(name); }

    /** The tensor as floats; errors name the directory (or the shard) and the tensor. */
    public TensorView get(String name) {
        return file(name).tensor(name);
    }

    /** The shard (or single file) holding the tensor. */
    public Path fileOf(String name) { return file(name).path(); }

    public long[] shape(String name) { return file(name).shape(name); }

    /** The safetensors files, each once. */
    public List<Path> files() {
        List<Path> out = new ArrayList<>();
        files.forEach(f -> out.add(f.path()));
        return out;
    }

    private SafetensorsFile file(String name) {
        SafetensorsFile f = fileByTensor.get(name);
        if (f == null) throw new ModelFormatException(directory + ": no tensor named " + name + " in the checkpoint");
        return f;
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }
}
