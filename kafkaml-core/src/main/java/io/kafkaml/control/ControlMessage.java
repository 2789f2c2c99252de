package io.kafkaml.control;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kafkaml.stream.InvalidStreamSliceException;
import io.kafkaml.stream.StreamSlice;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * The message that announces a finished data stream on the control topic: which slices hold the data, in
 * which format, how much of it to hold out for validation and test, and for which deployment. Its JSON is
 * Kafka-ML's, so that Kafka-ML's Python data sinks can feed kafkaml and the other way round.
 *
 * <table>
 * <caption>JSON fields</caption>
 * <tr><th>key</th><th>accessor</th><th>meaning</th></tr>
 * <tr><td>{@code topic}</td><td>{@link #slices()}</td><td>comma-separated {@code topic:partition:start:end}
 *     slices (see {@link StreamSlice}); required, at least one; with {@code incremental} true it may be a bare
 *     topic name instead ({@link #unboundedTopic()}, Kafka-ML's online sink)</td></tr>
 * <tr><td>{@code input_format}</td><td>{@link #inputFormat()}</td><td>{@code RAW}, {@code AVRO},
 *     {@code JSON}...; required</td></tr>
 * <tr><td>{@code input_config}</td><td>{@link #inputConfig()}</td><td>format settings (older Kafka-ML sinks
 *     call it {@code configuration}); default empty</td></tr>
 * <tr><td>{@code validation_rate}, {@code test_rate}</td><td>{@link #validationRate()},
 *     {@link #testRate()}</td><td>fractions held out, each in [0, 1), together below 1; default 0</td></tr>
 * <tr><td>{@code total_msg}</td><td>{@link #totalMessages()}</td><td>number of data records, {@code >= 0},
 *     at most the offsets the slices span; required, except {@code null} for an unbounded stream</td></tr>
 * <tr><td>{@code description}, {@code dataset_restrictions}, {@code unsupervised_topic},
 *     {@code incremental}</td><td>accessors of the same names</td><td>carried through</td></tr>
 * <tr><td>{@code deployment_id}</td><td>{@link #deploymentId()}</td><td>added by kafkaml</td></tr>
 * </table>
 *
 * <p><b>Deployment id</b>: taken from {@code deployment_id} when the JSON has it; otherwise from the record
 * key read as a big-endian unsigned integer, which is how Kafka-ML writes it (one byte for ids below 256:
 * key {@code 0x07} is deployment {@code "7"}). {@link #keyBytes()} writes numeric ids the same way, so that
 * Kafka-ML's trainers can read kafkaml's messages.
 *
 * <p><b>Unknown keys</b> are kept: {@link #withDeploymentId(String)} (re-sending a recorded stream to
 * another deployment) and {@link #toJson()} write them back unchanged.
 *
 * <pre>{@code
 * ControlMessage message = ControlMessage.builder()
 *         .slices(List.of(StreamSlice.of("hcopd", 0, 0, 120), StreamSlice.of("hcopd", 1, 0, 119)))
 *         .inputFormat("RAW")
 *         .inputConfig(Map.of("data_type", "float32", "label_type", "uint8", "data_reshape", "3"))
 *         .validationRate(0.1).testRate(0.1)
 *         .totalMessages(239)
 *         .deploymentId("7")
 *         .build();
 * ControlMessage again = ControlMessage.parse(message.keyBytes(), message.toJsonBytes());
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class ControlMessage {

    /** JSON key of the slices. */
    public static final String TOPIC = "topic";
    /** JSON key of the record format. */
    public static final String INPUT_FORMAT = "input_format";
    /** JSON key of the format settings. */
    public static final String INPUT_CONFIG = "input_config";
    /** Older Kafka-ML sinks' name for {@link #INPUT_CONFIG}. */
    public static final String LEGACY_INPUT_CONFIG = "configuration";
    /** JSON key of the validation rate. */
    public static final String VALIDATION_RATE = "validation_rate";
    /** JSON key of the test rate. */
    public static final String TEST_RATE = "test_rate";
    /** JSON key of the number of data records. */
    public static final String TOTAL_MSG = "total_msg";
    /** JSON key of the description. */
    public static final String DESCRIPTION = "description";
    /** JSON key of the dataset restrictions. */
    public static final String DATASET_RESTRICTIONS = "dataset_restrictions";
    /** JSON key of the slices of unlabelled data. */
    public static final String UNSUPERVISED_TOPIC = "unsupervised_topic";
    /** JSON key of the incremental flag. */
    public static final String INCREMENTAL = "incremental";
    /** JSON key of the deployment id. */
    public static final String DEPLOYMENT_ID = "deployment_id";

    private static final Set<String> KNOWN_KEYS = Set.of(
            TOPIC,
            INPUT_FORMAT,
            INPUT_CONFIG,
            LEGACY_INPUT_CONFIG,
            VALIDATION_RATE,
            TEST_RATE,
            TOTAL_MSG,
            DESCRIPTION,
            DATASET_RESTRICTIONS,
            UNSUPERVISED_TOPIC,
            INCREMENTAL,
            DEPLOYMENT_ID);
    private static final Pattern DEPLOYMENT_ID_PATTERN = Pattern.compile("[A-Za-z0-9._-]{1,249}");
    private static final Pattern UNBOUNDED_TOPIC = Pattern.compile("[A-Za-z0-9._-]{1,249}");
    private static final Pattern NUMERIC_ID = Pattern.compile("0|[1-9][0-9]{0,37}");
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final TypeReference<Map<String, Object>> MAP_TYPE = new TypeReference<>() {};

    private final ObjectNode json;
    private final List<StreamSlice> slices;
    private final List<StreamSlice> unsupervisedSlices;
    private final String inputFormat;
    private final Map<String, Object> inputConfig;
    private final double validationRate;
    private final double testRate;
    private final long totalMessages;
    private final String description;
    private final boolean incremental;
    private final String unboundedTopic;
    private final String unboundedUnsupervisedTopic;
    private final String deploymentId;
    /** The Kafka timestamp of the record it was read from; -1 when built or read from JSON (set before it is shared). */
    private long recordTimestamp = -1;

    private ControlMessage(ObjectNode json, String keyDeploymentId, String where) {
        Problems problems = new Problems();
        JsonNode incrementalNode = json.get(INCREMENTAL);
        if (incrementalNode != null && !incrementalNode.isNull() && !incrementalNode.isBoolean()) {
            problems.add("'" + INCREMENTAL + "' must be true or false, was " + incrementalNode);
        }
        this.incremental = incrementalNode != null && incrementalNode.asBoolean(false);
        JsonNode topicNode = json.get(TOPIC);
        // Kafka-ML's online (incremental) sink announces a topic to be read as it grows, before its data: the bare
        // topic name and no total_msg.
        this.unboundedTopic = incremental
                        && topicNode != null
                        && topicNode.isTextual()
                        && UNBOUNDED_TOPIC.matcher(topicNode.asText()).matches()
                ? topicNode.asText()
                : null;
        this.slices = unboundedTopic != null ? List.of() : slices(json, TOPIC, true, problems);
        // Kafka-ML's online semi-supervised sink names the unlabelled topic bare as well (the labelled data as slices)
        JsonNode unsupervisedNode = json.get(UNSUPERVISED_TOPIC);
        this.unboundedUnsupervisedTopic = incremental
                        && unsupervisedNode != null
                        && unsupervisedNode.isTextual()
                        && UNBOUNDED_TOPIC.matcher(unsupervisedNode.asText()).matches()
                ? unsupervisedNode.asText()
                : null;
        this.unsupervisedSlices =
                unboundedUnsupervisedTopic != null ? List.of() : slices(json, UNSUPERVISED_TOPIC, false, problems);
        this.inputFormat = requiredText(json, INPUT_FORMAT, problems);
        JsonNode config = json.has(INPUT_CONFIG) ? json.get(INPUT_CONFIG) : json.get(LEGACY_INPUT_CONFIG);
        this.inputConfig = inputConfig(config, problems);
        this.validationRate = rate(json, VALIDATION_RATE, problems);
        this.testRate = rate(json, TEST_RATE, problems);
        if (validationRate + testRate >= 1.0 && validationRate < 1 && testRate < 1) {
            problems.add("'" + VALIDATION_RATE + "' + '" + TEST_RATE + "' must be below 1 (nothing would be left to "
                    + "train on), was " + validationRate + " + " + testRate);
        }
        JsonNode totalNode = json.get(TOTAL_MSG);
        this.totalMessages = unboundedTopic != null && (totalNode == null || totalNode.isNull())
                ? -1
                : totalMessages(json, problems);
        if (totalMessages >= 0 && problems.isEmpty() && slices.stream().noneMatch(StreamSlice::isOpenEnded)) {
            long span = slices.stream().mapToLong(StreamSlice::size).sum();
            if (totalMessages > span) {
                problems.add(
                        "'" + TOTAL_MSG + "' is " + totalMessages + " but the slices span only " + span + " offsets");
            }
        }
        JsonNode descriptionNode = json.get(DESCRIPTION);
        this.description = descriptionNode == null || descriptionNode.isNull() ? "" : descriptionNode.asText();
        this.deploymentId = deploymentId(json, keyDeploymentId, problems);
        if (!problems.isEmpty()) {
            throw new InvalidControlMessageException(
                    "Invalid control message" + where + ": " + String.join("; ", problems.list), deploymentId, where);
        }
        ObjectNode copy = json.deepCopy();
        copy.put(DEPLOYMENT_ID, deploymentId);
        this.json = canonical(copy);
    }

    /** The same tree as parsing its text gives, so that built and parsed messages compare equal. */
    private static ObjectNode canonical(ObjectNode node) {
        try {
            return (ObjectNode) MAPPER.readTree(node.toString());
        } catch (IOException e) {
            throw new IllegalStateException("Jackson could not read back its own JSON", e);
        }
    }

    /** Returns a builder for a new message. */
    public static Builder builder() {
        return new Builder(JsonNodeFactory.instance.objectNode());
    }

    /**
     * Reads a control message from a record's key and value.
     *
     * @param key the record key, or {@code null}; used for the deployment id when the JSON has none
     * @param value the JSON value
     * @throws InvalidControlMessageException if the value is not a JSON object or breaks a rule; the message
     *     lists every problem
     */
    public static ControlMessage parse(byte[] key, byte[] value) {
        return parse(key, value, "");
    }

    /**
     * Reads a control message from a consumed record; errors name its topic, partition and offset.
     *
     * @throws InvalidControlMessageException if the record does not hold a valid control message
     */
    public static ControlMessage fromRecord(ConsumerRecord<byte[], byte[]> record) {
        return withTimestamp(
                parse(
                        record.key(),
                        record.value(),
                        " at " + record.topic() + "-" + record.partition() + "@" + record.offset()),
                record);
    }

    private static ControlMessage withTimestamp(ControlMessage message, ConsumerRecord<byte[], byte[]> record) {
        message.recordTimestamp = record.timestamp() >= 0 ? record.timestamp() : -1;
        return message;
    }

    /**
     * The Kafka timestamp of the control record this message was read from (ms since the epoch; the producer's
     * {@code CreateTime} unless the topic sets {@code LogAppendTime}), or -1 when it was built or read from JSON. An
     * incremental run with a new consumer group starts its topic at the records written since (Kafka-ML's online sink
     * sends its control message before its data), not at older streams of the same topic.
     */
    public long recordTimestamp() {
        return recordTimestamp;
    }

    /**
     * Reads a control message from a consumed record whose key was read as {@code keyDeploymentId}, one of
     * {@link #deploymentIdsFromKey} (a deployment waiting under that id); the JSON's {@code deployment_id}, when
     * present, still wins. Errors name the record's topic, partition and offset.
     *
     * @throws InvalidControlMessageException if the record does not hold a valid control message
     */
    public static ControlMessage fromRecord(ConsumerRecord<byte[], byte[]> record, String keyDeploymentId) {
        String where = " at " + record.topic() + "-" + record.partition() + "@" + record.offset();
        if (record.key() == null
                || record.key().length == 0
                || !deploymentIdsFromKey(record.key()).contains(keyDeploymentId)) {
            return withTimestamp(parse(record.key(), record.value(), where), record);
        }
        return withTimestamp(parseKeyed(keyDeploymentId, record.value(), where), record);
    }

    /** Reads a control message from its JSON text, with the deployment id in the JSON. */
    public static ControlMessage fromJson(String json) {
        return parse(null, json.getBytes(StandardCharsets.UTF_8), "");
    }

    private static ControlMessage parse(byte[] key, byte[] value, String where) {
        return parseKeyed(key != null && key.length > 0 ? deploymentIdFromKey(key) : null, value, where);
    }

    private static ControlMessage parseKeyed(String keyId, byte[] value, String where) {
        if (value == null) {
            throw new InvalidControlMessageException(
                    "Invalid control message" + where + ": the record has no value (a tombstone?)", keyId, where);
        }
        JsonNode node;
        try {
            node = MAPPER.readTree(value);
        } catch (IOException e) {
            String reason = e instanceof JsonProcessingException jpe ? jpe.getOriginalMessage() : e.getMessage();
            String location = e instanceof JsonProcessingException jpe && jpe.getLocation() != null
                    ? " (line " + jpe.getLocation().getLineNr() + ", column "
                            + jpe.getLocation().getColumnNr() + ")"
                    : "";
            throw new InvalidControlMessageException(
                    "Invalid control message" + where + ": the value is not JSON" + location + ": " + reason,
                    keyId,
                    where);
        }
        if (node == null || !node.isObject()) {
            throw new InvalidControlMessageException(
                    "Invalid control message" + where + ": the value must be a JSON object, was "
                            + abbreviate(String.valueOf(node)),
                    keyId,
                    where);
        }
        return new ControlMessage((ObjectNode) node, keyId, where);
    }

    /**
     * Reads a deployment id from a record key written by Kafka-ML: a big-endian unsigned integer.
     *
     * @param key the key bytes, at least one
     * @return the integer in decimal
     */
    public static String deploymentIdFromKey(byte[] key) {
        if (key == null || key.length == 0) {
            throw new IllegalArgumentException("An empty key holds no deployment id");
        }
        return new BigInteger(1, key).toString();
    }

    /**
     * Every deployment id a record key may mean, the first as {@link #deploymentIdFromKey} reads it (Kafka-ML's
     * reading, {@code int.from_bytes(key, 'big')}). Kafka-ML's sinks write an integer id as {@code bytes([id])}, always
     * one byte, but an id given as a string ({@code deployment_id='12'}) as its UTF-8 bytes ({@code sink.py}
     * {@code __object_to_bytes}); its control JSON has no {@code deployment_id} field to tell them apart. The rule: the
     * text reading is listed (second) only where no integer reading is plausible, for a key of <b>two or more</b>
     * ASCII digits ({@code "12"} = {@code 0x3132}: Kafka-ML's integer path cannot write it, and kafkaml's own messages
     * carry their id in the JSON). A one-byte key is always the integer, as Kafka-ML's own trainers read it: key
     * {@code 0x35} is deployment 53, never {@code "5"}, so that Kafka-ML's deployment 53 sharing a control topic never
     * starts or fails a kafkaml deployment {@code "5"} (a one-digit string id must be sent as an integer, as Kafka-ML
     * itself requires). A deployment waiting under either id takes the message; when deployments wait under both, the
     * first reading wins ({@code ControlChannel}, which waits for one deployment at a time, takes either).
     *
     * @param key the key bytes, at least one
     * @return one or two ids, the integer reading first
     */
    public static List<String> deploymentIdsFromKey(byte[] key) {
        String number = deploymentIdFromKey(key);
        if (key.length == 1) {
            return List.of(number); // Kafka-ML's bytes([id]): 0x35 is 53 (review R7)
        }
        for (byte b : key) {
            if (b < '0' || b > '9') {
                return List.of(number);
            }
        }
        String text = new String(key, StandardCharsets.US_ASCII);
        return text.equals(number) ? List.of(number) : List.of(number, text);
    }

    /**
     * The deployment ids a control record may be for: the JSON's {@code deployment_id} alone when it has one, else
     * {@link #deploymentIdsFromKey}; empty when neither can be read. Read without validating the rest.
     */
    public static List<String> peekDeploymentIds(byte[] key, byte[] value) {
        if (value != null) {
            try {
                JsonNode node = MAPPER.readTree(value);
                JsonNode id = node == null ? null : node.get(DEPLOYMENT_ID);
                if (id != null && !id.isNull() && !id.asText().isBlank()) {
                    return List.of(id.asText());
                }
            } catch (IOException e) {
                // not JSON: the key may still say
            }
        }
        return key == null || key.length == 0 ? List.of() : deploymentIdsFromKey(key);
    }

    /**
     * The record key for a deployment id: a numeric id as a big-endian unsigned integer in as few bytes as
     * it needs (as Kafka-ML writes it), any other id as its UTF-8 bytes.
     */
    public static byte[] keyFor(String deploymentId) {
        if (NUMERIC_ID.matcher(deploymentId).matches()) {
            byte[] bytes = new BigInteger(deploymentId).toByteArray();
            if (bytes.length > 1 && bytes[0] == 0) {
                byte[] trimmed = new byte[bytes.length - 1];
                System.arraycopy(bytes, 1, trimmed, 0, trimmed.length);
                return trimmed;
            }
            return bytes;
        }
        return deploymentId.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The topic of an unbounded (incremental) stream: Kafka-ML's online sink sends the bare topic name with
     * {@code incremental: true} and no {@code total_msg}, before its data, meaning "read this topic as it grows".
     * Then {@link #slices()} is empty and {@link #totalMessages()} is -1. Empty for a bounded stream.
     */
    public Optional<String> unboundedTopic() {
        return Optional.ofNullable(unboundedTopic);
    }

    /**
     * The deployment id a control record names (the JSON's {@code deployment_id}, else the key as Kafka-ML
     * writes it), read without validating the rest; empty when neither can be read.
     */
    public static Optional<String> peekDeploymentId(byte[] key, byte[] value) {
        if (value != null) {
            try {
                JsonNode node = MAPPER.readTree(value);
                JsonNode id = node == null ? null : node.get(DEPLOYMENT_ID);
                if (id != null && !id.isNull() && !id.asText().isBlank()) {
                    return Optional.of(id.asText());
                }
            } catch (IOException e) {
                // not JSON: the key may still say
            }
        }
        return key == null || key.length == 0 ? Optional.empty() : Optional.of(deploymentIdFromKey(key));
    }

    /** The slices of the data stream, in order; empty for an {@link #unboundedTopic() unbounded} stream. */
    public List<StreamSlice> slices() {
        return slices;
    }

    /**
     * The topic of an unbounded stream of unlabelled data: Kafka-ML's online semi-supervised sink sends the bare name
     * of its {@code unsupervised_topic} with {@code incremental: true}.
     */
    public Optional<String> unboundedUnsupervisedTopic() {
        return Optional.ofNullable(unboundedUnsupervisedTopic);
    }

    /** The slices of unlabelled data ({@code unsupervised_topic}), empty when there are none. */
    public List<StreamSlice> unsupervisedSlices() {
        return unsupervisedSlices;
    }

    /** The record format's name, as written ({@code RAW}, {@code AVRO}, {@code JSON}...). */
    public String inputFormat() {
        return inputFormat;
    }

    /**
     * The format settings as plain Java values (strings, numbers, booleans, lists and maps), unmodifiable.
     */
    public Map<String, Object> inputConfig() {
        return inputConfig;
    }

    /**
     * One format setting as text: a JSON string as is, any other JSON value as its JSON text.
     */
    public Optional<String> inputConfigText(String key) {
        Object value = inputConfig.get(key);
        if (value == null) {
            return Optional.empty();
        }
        if (value instanceof String text) {
            return Optional.of(text);
        }
        try {
            return Optional.of(MAPPER.writeValueAsString(value));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("Cannot write input_config." + key + " as JSON", e);
        }
    }

    /** The fraction of the stream held out for validation, in [0, 1). */
    public double validationRate() {
        return validationRate;
    }

    /** The fraction of the stream held out for test, in [0, 1). */
    public double testRate() {
        return testRate;
    }

    /** The number of data records the sink sent. */
    public long totalMessages() {
        return totalMessages;
    }

    /** The description, empty if none. */
    public String description() {
        return description;
    }

    /** {@code dataset_restrictions} as its JSON text, if present and not null. */
    public Optional<String> datasetRestrictions() {
        JsonNode node = json.get(DATASET_RESTRICTIONS);
        if (node == null || node.isNull()) {
            return Optional.empty();
        }
        return Optional.of(node.isTextual() ? node.asText() : node.toString());
    }

    /** The {@code incremental} flag; false when absent. */
    public boolean incremental() {
        return incremental;
    }

    /** The deployment the stream is for. */
    public String deploymentId() {
        return deploymentId;
    }

    /** The keys this class does not interpret, with their values as plain Java values; kept on re-send. */
    public Map<String, Object> extraFields() {
        Map<String, Object> extras = new LinkedHashMap<>();
        json.properties().forEach(entry -> {
            if (!KNOWN_KEYS.contains(entry.getKey())) {
                extras.put(entry.getKey(), MAPPER.convertValue(entry.getValue(), Object.class));
            }
        });
        return Collections.unmodifiableMap(extras);
    }

    /**
     * The same stream announced for another deployment: every other field, unknown ones included, is kept.
     * This is how a recorded data stream is reused without copying its data.
     */
    public ControlMessage withDeploymentId(String newDeploymentId) {
        ObjectNode copy = json.deepCopy();
        copy.put(DEPLOYMENT_ID, Objects.requireNonNull(newDeploymentId, "deploymentId"));
        return new ControlMessage(copy, null, "");
    }

    /** Returns a builder that starts from this message's fields, unknown ones included. */
    public Builder toBuilder() {
        return new Builder(json.deepCopy());
    }

    /** The message as JSON text, with {@code deployment_id}. */
    public String toJson() {
        return json.toString();
    }

    /** The message as UTF-8 JSON bytes, the record value on the control topic. */
    public byte[] toJsonBytes() {
        return toJson().getBytes(StandardCharsets.UTF_8);
    }

    /** The record key on the control topic: see {@link #keyFor(String)}. */
    public byte[] keyBytes() {
        return keyFor(deploymentId);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ControlMessage other && json.equals(other.json);
    }

    @Override
    public int hashCode() {
        return json.hashCode();
    }

    @Override
    public String toString() {
        return "ControlMessage" + toJson();
    }

    private static List<StreamSlice> slices(JsonNode json, String key, boolean required, Problems problems) {
        JsonNode node = json.get(key);
        if (node == null || node.isNull()) {
            if (required) {
                problems.add("'" + key + "' is missing; expected the data stream's slices as "
                        + "topic:partition:startOffset:endOffset,...");
            }
            return List.of();
        }
        if (!node.isTextual()) {
            problems.add("'" + key + "' must be a string of slices, was " + abbreviate(node.toString()));
            return List.of();
        }
        try {
            List<StreamSlice> parsed = StreamSlice.parseList(node.asText());
            if (parsed.isEmpty() && required) {
                problems.add("'" + key + "' names no slice");
            }
            return parsed;
        } catch (InvalidStreamSliceException e) {
            problems.add("'" + key + "': " + e.getMessage());
            return List.of();
        }
    }

    private static String requiredText(JsonNode json, String key, Problems problems) {
        JsonNode node = json.get(key);
        if (node == null || node.isNull()) {
            problems.add("'" + key + "' is missing");
            return "";
        }
        if (!node.isTextual() || node.asText().isBlank()) {
            problems.add("'" + key + "' must be a non-empty string, was " + abbreviate(node.toString()));
            return "";
        }
        return node.asText();
    }

    private static Map<String, Object> inputConfig(JsonNode node, Problems problems) {
        if (node == null || node.isNull()) {
            return Map.of();
        }
        JsonNode object = node;
        if (node.isTextual()) {
            try {
                object = MAPPER.readTree(node.asText());
            } catch (IOException e) {
                problems.add("'" + INPUT_CONFIG + "' is a string that is not a JSON object");
                return Map.of();
            }
        }
        if (object == null || !object.isObject()) {
            problems.add("'" + INPUT_CONFIG + "' must be a JSON object, was " + abbreviate(node.toString()));
            return Map.of();
        }
        return Collections.unmodifiableMap(MAPPER.convertValue(object, MAP_TYPE));
    }

    private static double rate(JsonNode json, String key, Problems problems) {
        JsonNode node = json.get(key);
        if (node == null || node.isNull()) {
            return 0.0;
        }
        if (!node.isNumber()) {
            problems.add("'" + key + "' must be a number in [0, 1), was " + abbreviate(node.toString()));
            return 0.0;
        }
        double rate = node.asDouble();
        if (!(rate >= 0.0 && rate < 1.0)) {
            problems.add("'" + key + "' must be in [0, 1), was " + node);
        }
        return rate;
    }

    private static long totalMessages(JsonNode json, Problems problems) {
        JsonNode node = json.get(TOTAL_MSG);
        if (node == null || node.isNull()) {
            problems.add("'" + TOTAL_MSG + "' is missing; expected the number of data records");
            return -1;
        }
        if (!node.isIntegralNumber() || !node.canConvertToLong()) {
            problems.add("'" + TOTAL_MSG + "' must be an integer, was " + abbreviate(node.toString()));
            return -1;
        }
        long total = node.asLong();
        if (total < 0) {
            problems.add("'" + TOTAL_MSG + "' must be >= 0, was " + total);
        }
        return total;
    }

    private static String deploymentId(JsonNode json, String keyId, Problems problems) {
        JsonNode node = json.get(DEPLOYMENT_ID);
        String id;
        if (node == null || node.isNull()) {
            if (keyId == null) {
                problems.add("no deployment id: neither a '" + DEPLOYMENT_ID + "' field nor a record key");
                return null;
            }
            id = keyId;
        } else if (node.isTextual()) {
            id = node.asText();
        } else if (node.isIntegralNumber() && node.bigIntegerValue().signum() >= 0) {
            id = node.bigIntegerValue().toString();
        } else {
            problems.add("'" + DEPLOYMENT_ID + "' must be a string or a non-negative integer, was "
                    + abbreviate(node.toString()));
            return null;
        }
        if (!DEPLOYMENT_ID_PATTERN.matcher(id).matches()) {
            problems.add("deployment id '" + abbreviate(id) + "' is not valid: 1 to 249 characters of a-z, A-Z, "
                    + "0-9, '.', '_', '-'");
            return null;
        }
        return id;
    }

    private static String abbreviate(String text) {
        return text.length() <= 120 ? text : text.substring(0, 117) + "...";
    }

    private static final class Problems {
        final List<String> list = new ArrayList<>();

        void add(String problem) {
            list.add(problem);
        }

        boolean isEmpty() {
            return list.isEmpty();
        }
    }

    /**
     * Builds a {@link ControlMessage}; {@code slices}, {@code inputFormat}, {@code totalMessages} and
     * {@code deploymentId} are required. {@link #build()} checks every rule and reports all that are broken.
     */
    public static final class Builder {
        private final ObjectNode json;

        private Builder(ObjectNode json) {
            this.json = json;
        }

        /** The data stream's slices. */
        public Builder slices(List<StreamSlice> slices) {
            json.put(TOPIC, StreamSlice.formatList(slices));
            return this;
        }

        /** The record format's name ({@code RAW}, {@code AVRO}, {@code JSON}). */
        public Builder inputFormat(String inputFormat) {
            json.put(INPUT_FORMAT, inputFormat);
            return this;
        }

        /** The format settings; values are strings, numbers, booleans, lists or maps. */
        public Builder inputConfig(Map<String, ?> inputConfig) {
            json.remove(LEGACY_INPUT_CONFIG);
            json.set(INPUT_CONFIG, MAPPER.valueToTree(inputConfig));
            return this;
        }

        /** The fraction held out for validation, in [0, 1); default 0. */
        public Builder validationRate(double rate) {
            json.put(VALIDATION_RATE, rate);
            return this;
        }

        /** The fraction held out for test, in [0, 1); default 0. */
        public Builder testRate(double rate) {
            json.put(TEST_RATE, rate);
            return this;
        }

        /** The number of data records sent. */
        public Builder totalMessages(long total) {
            json.put(TOTAL_MSG, total);
            return this;
        }

        /** A description of the data. */
        public Builder description(String description) {
            json.put(DESCRIPTION, description);
            return this;
        }

        /** The slices of unlabelled data, for semi-supervised training. */
        public Builder unsupervisedSlices(List<StreamSlice> slices) {
            json.put(UNSUPERVISED_TOPIC, StreamSlice.formatList(slices));
            return this;
        }

        /** Kafka-ML's incremental flag. */
        public Builder incremental(boolean incremental) {
            json.put(INCREMENTAL, incremental);
            return this;
        }

        /** The deployment the stream is for. */
        public Builder deploymentId(String deploymentId) {
            json.put(DEPLOYMENT_ID, deploymentId);
            return this;
        }

        /** Any other field, written as given and kept on re-send. */
        public Builder field(String key, Object value) {
            json.set(key, MAPPER.valueToTree(value));
            return this;
        }

        /**
         * Validates and returns the message.
         *
         * @throws InvalidControlMessageException listing every broken rule
         */
        public ControlMessage build() {
            if (!json.has(VALIDATION_RATE)) {
                json.put(VALIDATION_RATE, 0.0);
            }
            if (!json.has(TEST_RATE)) {
                json.put(TEST_RATE, 0.0);
            }
            if (!json.has(DESCRIPTION)) {
                json.put(DESCRIPTION, "");
            }
            return new ControlMessage(json.deepCopy(), null, "");
        }
    }
}
