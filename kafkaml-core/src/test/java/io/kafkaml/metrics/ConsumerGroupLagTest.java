package io.kafkaml.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.config.KafkaClientSupplier;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.Test;

/** The lag gauge's admin client comes from the deployment's {@link KafkaClientSupplier}, with the user's settings. */
class ConsumerGroupLagTest {

    @Test
    void theAdminClientComesFromTheSupplierAndAnUnreadableLagIsNaN() {
        List<Map<String, Object>> asked = new ArrayList<>();
        List<String> calls = new ArrayList<>();
        KafkaClientSupplier clients = new KafkaClientSupplier() {
            @Override
            public Admin admin(Map<String, Object> config) {
                asked.add(Map.copyOf(config));
                return (Admin) Proxy.newProxyInstance(
                        Admin.class.getClassLoader(), new Class<?>[] {Admin.class}, (proxy, method, args) -> {
                            calls.add(method.getName());
                            if (method.getName().equals("close")) {
                                return null;
                            }
                            throw new UnsupportedOperationException(method.getName());
                        });
            }
        };
        ConsumerGroupLag lag = new ConsumerGroupLag(
                Map.of("bootstrap.servers", "nowhere:9092", "admin.request.timeout.ms", "1234"),
                "g",
                Duration.ZERO,
                clients);
        assertThat(lag.records()).isNaN();
        assertThat(asked).hasSize(1);
        assertThat(asked.get(0))
                .containsEntry(AdminClientConfig.CLIENT_ID_CONFIG, "kafkaml-metrics-lag-g")
                .containsEntry(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "1234");
        lag.close();
        assertThat(calls).contains("listConsumerGroupOffsets").contains("close");
    }
}
