package io.kafkaml.format.avro;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.control.ControlChannel;
import io.kafkaml.control.ControlMessage;
import io.kafkaml.dataset.StreamDataSets;
import io.kafkaml.sink.DataSink;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

@ExtendWith(EmbeddedKafkaExtension.class)
class AvroDataSinkIT {

    static final Schema DATA = new Schema.Parser().parse("""
            {"type": "record", "name": "Patient", "fields": [
              {"name": "gender", "type": "int"}, {"name": "age", "type": "float"}, {"name": "smoking", "type": "int"}]}""");
    static final Schema LABEL = new Schema.Parser().parse("""
            {"type": "record", "name": "Label", "fields": [{"name": "diagnosis", "type": "int"}]}""");

    static List<String> rows(DataSetIterator iterator) {
        List<String> rows = new ArrayList<>();
        while (iterator.hasNext()) {
            DataSet batch = iterator.next();
            float[] f = batch.getFeatures().dup().data().asFloat();
            float[] l = batch.getLabels().dup().data().asFloat();
            for (int r = 0; r < batch.numExamples(); r++) {
                rows.add(Arrays.toString(Arrays.copyOfRange(f, r * 3, r * 3 + 3)) + "->" + l[r]);
            }
        }
        return rows;
    }

    @Test
    void threePartitionRoundTripFromGenericRecordsToDataSets(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("avro-patients", 3);
        List<String> sent = new ArrayList<>();
        AvroDataSink sink = AvroDataSink.builder(kafka.clientConfig())
                .topic("avro-patients")
                .deploymentId("12")
                .dataSchema(DATA)
                .labelSchema(LABEL)
                .validationRate(0.1)
                .testRate(0.1)
                .partitioning(DataSink.Partitioning.ROUND_ROBIN)
                .build();
        for (int i = 0; i < 90; i++) {
            GenericRecord patient = new GenericData.Record(DATA);
            patient.put("gender", i % 2);
            patient.put("age", 40f + i / 2f);
            patient.put("smoking", 1 + i % 3);
            GenericRecord label = new GenericData.Record(LABEL);
            label.put("diagnosis", i % 5 == 0 ? 1 : 0);
            sink.send(patient, label);
            sent.add(Arrays.toString(new float[] {i % 2, 40f + i / 2f, 1 + i % 3}) + "->" + (i % 5 == 0 ? 1f : 0f));
        }
        sink.close();
        ControlMessage message;
        try (ControlChannel control = ControlChannel.create(kafka.clientConfig())) {
            message = control.await("12", Duration.ofSeconds(10));
        }
        assertThat(message.inputFormat()).isEqualTo("AVRO");
        assertThat(new Schema.Parser()
                        .parse(message.inputConfigText("data_scheme").orElseThrow()))
                .isEqualTo(DATA);
        assertThat(new Schema.Parser()
                        .parse(message.inputConfigText("label_scheme").orElseThrow()))
                .isEqualTo(LABEL);
        assertThat(message.slices()).hasSize(3);
        try (StreamDataSets data = StreamDataSets.builder(kafka.clientConfig(), message)
                .batchSize(16)
                .build()) {
            List<String> all = new ArrayList<>(rows(data.train()));
            assertThat(all).hasSize(72);
            all.addAll(rows(data.validation()));
            all.addAll(rows(data.test()));
            assertThat(all).containsExactlyInAnyOrderElementsOf(sent);
        }
    }

    @Test
    void schemasThatCannotBeFeaturesFailBeforeAnythingIsSent(EmbeddedKafkaBroker kafka) {
        Schema named = new Schema.Parser().parse("""
                {"type": "record", "name": "Named", "fields": [{"name": "name", "type": "string"}]}""");
        assertThatThrownBy(() -> AvroDataSink.builder(kafka.clientConfig())
                        .topic("x")
                        .deploymentId("x")
                        .dataSchema(named)
                        .build())
                .hasMessageContaining("field 'name' is of type string");
        try (AvroDataSink sink = AvroDataSink.builder(kafka.clientConfig())
                .topic("avro-bad")
                .deploymentId("bad")
                .dataSchema(DATA)
                .build()) {
            GenericRecord wrong = new GenericData.Record(DATA);
            wrong.put("gender", "male");
            assertThatThrownBy(() -> sink.sendValue(wrong))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("does not match its schema");
            GenericRecord right = new GenericData.Record(DATA);
            right.put("gender", 1);
            right.put("age", 1f);
            right.put("smoking", 1);
            sink.sendValue(right);
        }
    }
}
