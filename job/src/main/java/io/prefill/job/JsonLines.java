package io.prefill.job;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.LongWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapreduce.InputSplit;
import org.apache.hadoop.mapreduce.Job;
import org.apache.hadoop.mapreduce.lib.input.FileInputFormat;
import org.apache.hadoop.mapreduce.lib.input.FileSplit;
import org.apache.hadoop.mapreduce.lib.input.TextInputFormat;
import org.apache.spark.api.java.JavaNewHadoopRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import scala.Tuple2;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.from_json;

/**
 * JSON lines read line by line, so that a line that is not a JSON object is reported, not lost:
 * each such line (bytes that are not UTF-8, a raw NUL or other control character in a string, a
 * list or a number, text that is not JSON, content after the object) becomes a row whose input
 * problem names the file and the line number and quotes the line's start. Its id is
 * {@code <file>:<line>}. Blank lines are skipped, as Spark's JSON reader does. The lines that
 * parse get the schema Spark infers from them, so column types are those of {@code spark.read().json}.
 */
final class JsonLines {
    /** The file and line of each row, "file:/data/corpus.jsonl:17". */
    static final String LOCATION = "_location";
    private static final String LINE = "_line";
    private static final String JSON = "_json";
    private static final int QUOTED_CHARACTERS = 60;
    private static final JsonFactory FACTORY = new JsonFactory();

    private JsonLines() { }

    /** The parsed lines' columns plus {@link #LOCATION} and {@link CorpusReader#INPUT_ERROR}. */
    static Dataset<Row> read(SparkSession spark, String input, List<String> wanted) {
        Configuration conf = new Configuration(spark.sparkContext().hadoopConfiguration());
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        JavaNewHadoopRDD<LongWritable, Text> files = (JavaNewHadoopRDD<LongWritable, Text>)
                jsc.newAPIHadoopFile(input, TextInputFormat.class, LongWritable.class, Text.class, conf);
        Broadcast<Map<String, Long>> firstLines = jsc.broadcast(firstLineOfEachSplit(files, input, conf));

        JavaRDD<Row> lines = files.mapPartitionsWithInputSplit((split, records) -> {
            FileSplit s = (FileSplit) split;
            String file = s.getPath().toString();
            Long first = firstLines.value().get(splitKey(file, s.getStart()));
            return checkLines(file, first == null ? 1 : first, records);
        }, true);
        StructType lineSchema = new StructType()
                .add(LOCATION, DataTypes.StringType, false)
                .add(LINE, DataTypes.StringType, true)
                .add(CorpusReader.INPUT_ERROR, DataTypes.StringType, true);
        Dataset<Row> checked = spark.createDataFrame(lines, lineSchema);

        Dataset<String> parsable = checked.filter(col(CorpusReader.INPUT_ERROR).isNull()).select(col(LINE)).as(Encoders.STRING());
        StructType schema = spark.read().json(parsable).schema();
        if (schema.fields().length == 0) {
            // no line parsed: the columns asked for, so every line becomes its own error row
            List<StructField> fields = new ArrayList<>();
            for (String name : wanted) fields.add(DataTypes.createStructField(name, DataTypes.StringType, true));
            schema = DataTypes.createStructType(fields);
        }
        return checked.select(col(LOCATION), col(CorpusReader.INPUT_ERROR), from_json(col(LINE), schema).as(JSON))
                .select(col(JSON + ".*"), col(LOCATION), col(CorpusReader.INPUT_ERROR));
    }

    private static String splitKey(String file, long start) {
        return file + "@" + start;
    }

    /**
     * The line number each split of each file starts at. A file in one split starts at line 1;
     * only files that Hadoop splits (over a block, 128 MB) need their earlier splits' lines counted,
     * which is one more pass over those splits.
     */
    private static Map<String, Long> firstLineOfEachSplit(JavaNewHadoopRDD<LongWritable, Text> files, String input,
                                                        Configuration conf) {
        Map<String, List<Long>> startsByFile = new HashMap<>();
        try {
            Job job = Job.getInstance(conf);
            FileInputFormat.setInputPaths(job, new Path(input));
            for (InputSplit split : new TextInputFormat().getSplits(job)) {
                FileSplit s = (FileSplit) split;
                startsByFile.computeIfAbsent(s.getPath().toString(), k -> new ArrayList<>()).add(s.getStart());
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot list the JSON lines input " + input + ": " + e.getMessage(), e);
        }
        Map<String, Long> first = new HashMap<>();
        if (startsByFile.values().stream().allMatch(starts -> starts.size() == 1)) return first;
        List<Tuple2<String, Long>> counts = files.mapPartitionsWithInputSplit((split, records) -> {
            FileSplit s = (FileSplit) split;
            long n = 0;
            while (records.hasNext()) {
                records.next();
                n++;
            }
            return List.of(new Tuple2<>(splitKey(s.getPath().toString(), s.getStart()), n)).iterator();
        }, true).collect();
        Map<String, Long> countByKey = new HashMap<>();
        counts.forEach(t -> countByKey.put(t._1(), t._2()));
        for (var e : startsByFile.entrySet()) {
            long line = 1;
            for (long start : e.getValue().stream().sorted().toList()) {
                String key = splitKey(e.getKey(), start);
                first.put(key, line);
                line += countByKey.getOrDefault(key, 0L);
            }
        }
        return first;
    }

    /** Rows (location, line text or null, problem or null) for the non-blank lines of one split. */
    private static Iterator<Row> checkLines(String file, long firstLine, Iterator<Tuple2<LongWritable, Text>> records) {
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        return new Iterator<>() {
            long line = firstLine - 1;
            Row next = advance();

            private Row advance() {
                while (records.hasNext()) {
                    Text text = records.next()._2();
                    line++;
                    String location = file + ":" + line;
                    String value;
                    try {
                        value = utf8.reset().decode(ByteBuffer.wrap(text.getBytes(), 0, text.getLength())).toString();
                    } catch (CharacterCodingException e) {
                        return RowFactory.create(location, null, problem(file, line, "is not valid UTF-8",
                                new String(text.getBytes(), 0, text.getLength(), StandardCharsets.UTF_8)));
                    }
                    if (line == 1 && value.startsWith("\uFEFF")) value = value.substring(1); // a byte-order mark
                    if (value.isBlank()) continue;
                    String problem = notAnObject(value);
                    return problem == null ? RowFactory.create(location, value, null)
                            : RowFactory.create(location, null, problem(file, line, problem, value));
                }
                return null;
            }

            @Override
            public boolean hasNext() { return next != null; }

            @Override
            public Row next() {
                Row r = next;
                next = advance();
                return r;
            }
        };
    }

    /** Null when the line is exactly one JSON object; else what it is instead. */
    static String notAnObject(String line) {
        try (JsonParser p = FACTORY.createParser(line)) {
            JsonToken first = p.nextToken();
            if (first != JsonToken.START_OBJECT) return "is " + kind(first) + ", not a JSON object";
            p.skipChildren();
            JsonToken after;
            try {
                after = p.nextToken();
            } catch (JsonProcessingException e) {
                after = JsonToken.NOT_AVAILABLE;
            }
            return after == null ? null : "has content after its JSON object (one object per line)";
        } catch (JsonProcessingException e) {
            return "is not valid JSON (" + e.getOriginalMessage() + ")";
        } catch (IOException e) {
            return "cannot be read (" + e.getMessage() + ")";
        }
    }

    private static String kind(JsonToken t) {
        if (t == null) return "empty";
        return switch (t) {
            case START_ARRAY -> "a JSON list";
            case VALUE_STRING -> "a JSON string";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a JSON number";
            case VALUE_TRUE, VALUE_FALSE -> "a JSON boolean";
            case VALUE_NULL -> "JSON null";
            default -> "not JSON";
        };
    }

    private static String problem(String file, long line, String what, String text) {
        return "line " + line + " of " + file + " could not be parsed: it " + what + "; it begins " + quote(text);
    }

    /** The first characters of a line, control characters escaped, so a person can find it. */
    static String quote(String text) {
        StringBuilder b = new StringBuilder("\"");
        int shown = 0;
        for (int i = 0; i < text.length() && shown < QUOTED_CHARACTERS; i++, shown++) {
            char c = text.charAt(i);
            if (c < 0x20 || c == 0x7F || c == '\uFFFD') b.append(c == '\uFFFD' ? "\\ufffd" : String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append(text.length() > QUOTED_CHARACTERS ? "...\"" : "\"").toString();
    }
}
