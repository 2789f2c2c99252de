package io.kafkaml.testkit.internals;

import java.util.List;

/**
 * Sets the broker's own loggers to a level when Log4j 2 (log4j-core) is the logging back end; does nothing
 * otherwise. Client loggers ({@code org.apache.kafka.clients}) are left alone. Not part of the public API.
 */
public final class BrokerLogLevels {

    /** Loggers of the broker, controller, raft, storage and coordinators, not of the clients. */
    static final List<String> BROKER_LOGGERS = List.of(
            "kafka",
            "state.change.logger",
            "org.apache.kafka.server",
            "org.apache.kafka.controller",
            "org.apache.kafka.raft",
            "org.apache.kafka.storage",
            "org.apache.kafka.metadata",
            "org.apache.kafka.image",
            "org.apache.kafka.queue",
            "org.apache.kafka.coordinator",
            "org.apache.kafka.snapshot",
            "org.apache.kafka.security",
            "org.apache.kafka.network",
            "org.apache.kafka.common.network",
            "org.apache.kafka.common.security",
            "org.apache.kafka.common.utils.AppInfoParser");

    private static final boolean LOG4J_CORE = isPresent("org.apache.logging.log4j.core.config.Configurator")
            && isPresent("org.apache.logging.slf4j.Log4jLoggerFactory");

    private BrokerLogLevels() {}

    /** Applies {@code level} (a Log4j level name such as WARN) to the broker's loggers, if Log4j 2 is in use. */
    public static void apply(String level) {
        if (LOG4J_CORE) {
            Log4j.setLevels(level);
        }
    }

    private static boolean isPresent(String className) {
        try {
            Class.forName(className, false, BrokerLogLevels.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /** Kept in its own class so that nothing of Log4j is loaded when it is absent. */
    private static final class Log4j {
        static void setLevels(String level) {
            org.apache.logging.log4j.Level log4jLevel =
                    org.apache.logging.log4j.Level.toLevel(level, org.apache.logging.log4j.Level.WARN);
            for (String logger : BROKER_LOGGERS) {
                org.apache.logging.log4j.core.config.Configurator.setLevel(logger, log4jLevel);
            }
        }
    }
}
