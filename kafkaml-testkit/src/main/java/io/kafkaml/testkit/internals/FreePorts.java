package io.kafkaml.testkit.internals;

import io.kafkaml.testkit.EmbeddedKafkaException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Finds free TCP ports on the loopback interface. Not part of the public API. */
public final class FreePorts {
    private FreePorts() {}

    /** Returns a port that was free a moment ago (the usual race applies). */
    public static int find() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new EmbeddedKafkaException("No free port on the loopback interface", e);
        }
    }
}
