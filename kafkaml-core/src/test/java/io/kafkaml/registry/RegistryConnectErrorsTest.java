package io.kafkaml.registry;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A registry that cannot reach Kafka says which address failed and how, in one line (no broker needed). */
class RegistryConnectErrorsTest {

    @Test
    void anUnresolvableBootstrapHostIsNamed() {
        assertThatThrownBy(() -> Registry.connect(
                                Map.of("bootstrap.servers", "no-such-host.invalid:9092"), "t", Duration.ofSeconds(5))
                        .close())
                .isInstanceOf(RegistryException.class)
                .hasMessageContaining("bootstrap.servers=no-such-host.invalid:9092")
                .hasMessageContaining("resolves");
    }

    @Test
    void aBootstrapAddressWhereNoBrokerListensTimesOutNamingItAndTheTimeout() throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort(); // closed again: nothing listens there
        }
        String servers = "localhost:" + port;
        assertThatThrownBy(() -> Registry.connect(Map.of("bootstrap.servers", servers), "t", Duration.ofSeconds(2))
                        .close())
                .isInstanceOf(RegistryException.class)
                .hasMessageContaining("no broker at bootstrap.servers=" + servers + " answered within 2000 ms")
                .hasMessageNotContaining("java.util.concurrent.TimeoutException");
    }

    @Test
    void aRequestTimeoutAboveTheRegistryTimeoutIsKeptAndStillReachesTheConnectError() throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        String servers = "localhost:" + port;
        // Kafka refuses an explicit default.api.timeout.ms below request.timeout.ms: the registry must not set one
        assertThatThrownBy(() -> Registry.connect(
                                Map.of("bootstrap.servers", servers, "request.timeout.ms", "3000"),
                                "t",
                                Duration.ofSeconds(1))
                        .close())
                .isInstanceOf(RegistryException.class)
                .hasMessageContaining("no broker at bootstrap.servers=" + servers)
                .hasMessageNotContaining("default.api.timeout.ms");
    }
}
