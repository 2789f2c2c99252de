package io.kafkaml.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.model.ModelDefinition;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.Logger;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Property;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Records anyone may write to the registry topics that are not what the topic holds: a listing shows the others and
 * warns once, naming topic, partition, offset and key; a read of that key is one clear error.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class RegistryBadRecordsIT {

    @Test
    void aListingLeavesABadRecordOutWithAWarningAndAReadOfItsKeyNamesIt(EmbeddedKafkaBroker kafka) {
        String prefix = "bad-records";
        try (Registry registry = Registry.connect(kafka.clientConfig(), prefix, Duration.ofSeconds(30))) {
            registry.registerModel(ModelDefinition.of("a", "", RegistryIT.mlp(3, 4, 2)));
            registry.registerModel(ModelDefinition.of("c", "", RegistryIT.mlp(3, 4, 2)));
            registry.createConfiguration(new Configuration("cfg", "", List.of("a")));
        }
        long notJson = send(kafka, prefix + ".models", "b", "not json at all");
        long jsonNull = send(kafka, prefix + ".models", "n", "null");
        send(kafka, prefix + ".configurations", "empty", "{\"name\":\"empty\",\"models\":[]}");
        long noDeployment = send(kafka, prefix + ".results", "x.m", "{\"id\":\"x.m\",\"model\":\"m\"}");
        send(kafka, prefix + ".datasources", "ds", "{\"id\":\"ds\",\"controlMessage\":\"{\\\"topic\\\": 7}\"}");

        List<LogEvent> warnings = new CopyOnWriteArrayList<>();
        Logger logger = (Logger) LogManager.getLogger(Registry.class);
        AbstractAppender appender = new AbstractAppender("bad-records", null, null, true, Property.EMPTY_ARRAY) {
            @Override
            public void append(LogEvent event) {
                if (event.getLevel() == Level.WARN) {
                    warnings.add(event.toImmutable());
                }
            }
        };
        appender.start();
        logger.addAppender(appender);
        try (Registry registry = Registry.connect(kafka.clientConfig(), prefix, Duration.ofSeconds(30))) {
            assertThat(registry.models()).extracting(ModelDefinition::name).containsExactly("a", "c");
            assertThat(registry.models()).hasSize(2); // a second listing: no second warning
            assertThat(registry.configurations())
                    .extracting(Configuration::name)
                    .containsExactly("cfg");
            assertThat(registry.results()).isEmpty();
            assertThat(registry.datasources()).isEmpty();

            assertThat(warnings)
                    .extracting(e -> e.getMessage().getFormattedMessage())
                    .containsExactlyInAnyOrder(
                            "Leaving a registry record out of the listing: Registry record 'b' at bad-records.models-0@"
                                    + notJson + " is not a valid ModelDefinition: "
                                    + messageOf(() -> registry.model("b")).split(": ", 2)[1],
                            "Leaving a registry record out of the listing: Registry record 'n' at bad-records.models-0@"
                                    + jsonNull + " is not a valid ModelDefinition: the value is JSON null",
                            "Leaving a registry record out of the listing: "
                                    + messageOf(() -> registry.configuration("empty")),
                            "Leaving a registry record out of the listing: " + messageOf(() -> registry.result("x.m")),
                            "Leaving a registry record out of the listing: "
                                    + messageOf(() -> registry.datasource("ds")));

            assertThatThrownBy(() -> registry.model("b"))
                    .isInstanceOfSatisfying(InvalidRegistryRecordException.class, e -> {
                        assertThat(e.topic()).isEqualTo("bad-records.models");
                        assertThat(e.partition()).isZero();
                        assertThat(e.offset()).isEqualTo(notJson);
                        assertThat(e.key()).isEqualTo("b");
                    })
                    .hasMessageStartingWith("Registry record 'b' at bad-records.models-0@" + notJson
                            + " is not a valid ModelDefinition: Unrecognized token 'not'");
            assertThatThrownBy(() -> registry.configuration("empty"))
                    .isInstanceOf(InvalidRegistryRecordException.class)
                    .hasMessageContaining("Configuration 'empty' names no model");
            assertThatThrownBy(() -> registry.result("x.m"))
                    .isInstanceOf(InvalidRegistryRecordException.class)
                    .hasMessageStartingWith("Registry record 'x.m' at bad-records.results-0@" + noDeployment
                            + " is not a valid TrainingResult: ")
                    .hasMessageContaining("deploymentId");
            assertThatThrownBy(() -> registry.datasource("ds"))
                    .isInstanceOf(InvalidRegistryRecordException.class)
                    .hasMessageContaining("is not a valid Datasource: its control message: ");

            // The name stays taken until the bad record is deleted; then it can be registered again.
            assertThatThrownBy(() -> registry.registerModel(ModelDefinition.of("n", "", RegistryIT.mlp(3, 4, 2))))
                    .isInstanceOf(DuplicateEntityException.class);
            registry.deleteModel("n");
            registry.registerModel(ModelDefinition.of("n", "", RegistryIT.mlp(3, 4, 2)));
            assertThat(registry.models()).extracting(ModelDefinition::name).containsExactly("a", "c", "n");
        } finally {
            logger.removeAppender(appender);
            appender.stop();
        }
    }

    private static String messageOf(Runnable read) {
        try {
            read.run();
        } catch (InvalidRegistryRecordException e) {
            return e.getMessage();
        }
        throw new AssertionError("no InvalidRegistryRecordException");
    }

    private static long send(EmbeddedKafkaBroker kafka, String topic, String key, String value) {
        try (KafkaProducer<String, byte[]> producer =
                new KafkaProducer<>(kafka.clientConfig(), new StringSerializer(), new ByteArraySerializer())) {
            return producer.send(new ProducerRecord<>(topic, key, value.getBytes(StandardCharsets.UTF_8)))
                    .get(10, TimeUnit.SECONDS)
                    .offset();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
