package io.kafkaml.training.internals;

import io.kafkaml.config.KafkaClientSupplier;
import io.kafkaml.control.ControlMessage;
import io.kafkaml.control.ControlMessageTimeoutException;
import io.kafkaml.control.ControlTopicPosition;
import io.kafkaml.control.InvalidControlMessageException;
import io.kafkaml.control.internals.ControlMessageMatcher;
import io.kafkaml.internals.Backoff;
import io.kafkaml.internals.ClientConfigs;
import io.kafkaml.internals.Deadline;
import io.kafkaml.internals.TopicPartitions;
import io.kafkaml.training.LocalTrainingLauncher;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One reader of a control topic for all the deployments of a {@link LocalTrainingLauncher} that wait on it: a
 * waiting deployment costs an entry in a map, not a thread. Each control message is routed by its deployment id to
 * the waiting deployment's {@link ControlMessageMatcher}; what it accepts is handed to the launcher, which then
 * starts training on a pool thread.
 *
 * <p>When a deployment starts waiting after the reader has passed the messages it may accept (its recorded
 * position, or the whole topic when it reuses a stream), the reader seeks back; re-reading is harmless to the
 * others (a deployment that accepted a message no longer waits). A deployment whose wait times out, is cancelled,
 * or whose message is malformed is given up with the reason.
 *
 * <p>Thread-safe: {@link #await} and {@link #close} may be called from any thread; callbacks run on the listener's
 * thread ({@code kafkaml-control-listener | topic}) and must not block long.
 */
public final class ControlTopicListener implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ControlTopicListener.class);
    private static final Duration POLL = Duration.ofMillis(200);
    /** After a failed read: 1 s, doubling to 30 s while the failures go on. */
    private static final Backoff READ_RETRY =
            new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(30), Backoff.KAFKA_JITTER);

    /** A deployment waiting for its control message. */
    public static final class Waiter {
        final ControlMessageMatcher matcher;
        final Deadline deadline;
        final Duration timeout;
        final Consumer<ControlMessage> onMessage;
        final Consumer<RuntimeException> onGiveUp;
        volatile boolean cancelled;

        Waiter(
                ControlMessageMatcher matcher,
                Duration timeout,
                Consumer<ControlMessage> onMessage,
                Consumer<RuntimeException> onGiveUp) {
            this.matcher = matcher;
            this.timeout = timeout;
            this.deadline = Deadline.after(timeout);
            this.onMessage = onMessage;
            this.onGiveUp = onGiveUp;
        }

        /** Stops waiting: the listener gives the deployment up as cancelled. */
        public void cancel() {
            cancelled = true;
        }
    }

    private record Registration(Waiter waiter, ControlTopicPosition since, boolean reuse) {}

    private final String topic;
    private final org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> consumer;
    private final Thread thread;
    private final ConcurrentLinkedQueue<Registration> registrations = new ConcurrentLinkedQueue<>();
    private final Map<String, Waiter> waiting = new HashMap<>();
    private final Set<TopicPartition> assigned = new HashSet<>();
    private final Object idle = new Object();
    private volatile boolean closing;

    public ControlTopicListener(Map<String, ?> clientConfig, String topic, KafkaClientSupplier clients) {
        this.topic = topic;
        this.consumer = ClientConfigs.controlTopicReader(clientConfig, "kafkaml-control-listener-" + topic, clients);
        this.thread = new Thread(this::run, "kafkaml-control-listener | " + topic);
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /**
     * Starts waiting for a deployment's control message.
     *
     * @param since where the control topic ended when the deployment was recorded
     * @param reuse whether an older message may be accepted
     */
    public Waiter await(
            String deploymentId,
            ControlTopicPosition since,
            boolean reuse,
            Duration timeout,
            Consumer<ControlMessage> onMessage,
            Consumer<RuntimeException> onGiveUp) {
        if (closing) {
            throw new IllegalStateException("The control-topic listener of '" + topic + "' is closed");
        }
        Waiter waiter = new Waiter(new ControlMessageMatcher(deploymentId, since, reuse), timeout, onMessage, onGiveUp);
        registrations.add(new Registration(waiter, since, reuse));
        wake();
        return waiter;
    }

    private void run() {
        long nextMetadataCheck = 0;
        int failures = 0;
        while (!closing) {
            try {
                if (System.nanoTime() >= nextMetadataCheck) {
                    assignNewPartitions();
                    nextMetadataCheck = System.nanoTime() + TimeUnit.SECONDS.toNanos(assigned.isEmpty() ? 1 : 10);
                }
                register();
                expire();
                failures = 0; // the broker answers again
                if (assigned.isEmpty() || waiting.isEmpty()) {
                    // Nothing to read for (or nothing to read yet): wait for a registration or the topic.
                    sleepUntilWoken();
                    continue;
                }
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(POLL)) {
                    route(record);
                }
                if (!waiting.isEmpty()) {
                    Map<Integer, Long> positions = positions();
                    for (Iterator<Waiter> it = waiting.values().iterator(); it.hasNext(); ) {
                        Waiter waiter = it.next();
                        Optional<ControlMessage> reused;
                        try {
                            reused = waiter.matcher.readUpTo(positions);
                        } catch (InvalidControlMessageException fatal) {
                            it.remove();
                            giveUp(waiter, fatal);
                            continue;
                        }
                        if (reused.isPresent()) {
                            it.remove();
                            deliver(waiter, reused.get());
                        }
                    }
                }
            } catch (WakeupException e) {
                // a registration or close: go round
            } catch (RuntimeException e) {
                Duration wait = READ_RETRY.delay(++failures);
                log.error(
                        "[{}] The control-topic listener failed to read ({} in a row); retrying in {} ms: {}",
                        topic,
                        failures,
                        wait.toMillis(),
                        e.toString(),
                        e);
                sleepQuietly(wait);
            }
        }
        giveUpAll();
        consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
    }

    private void register() {
        Registration registration;
        Map<TopicPartition, Long> rewind = new HashMap<>();
        boolean idle = waiting.isEmpty();
        while ((registration = registrations.poll()) != null) {
            Waiter waiter = registration.waiter();
            Waiter previous = waiting.put(waiter.matcher.deploymentId(), waiter);
            if (previous != null) {
                previous.onGiveUp.accept(new IllegalStateException(
                        "Deployment '" + waiter.matcher.deploymentId() + "' started waiting again"));
            }
            for (TopicPartition partition : assigned) {
                long from = registration.reuse()
                        ? 0
                        : registration.since().endOffsets().getOrDefault(partition.partition(), 0L);
                rewind.merge(partition, from, Math::min);
            }
        }
        // Seek back to the first message a new waiter may accept; when nobody waited before, straight there (the
        // reader may have stopped far behind).
        rewind.forEach((partition, from) -> {
            if (idle || consumer.position(partition) > from) {
                consumer.seek(partition, from);
            }
        });
    }

    private void route(ConsumerRecord<byte[], byte[]> record) {
        // a key of 2+ ASCII digits may be an integer or a string id ("12" as 0x3132): the first one waiting takes it
        String id = ControlMessage.peekDeploymentIds(record.key(), record.value()).stream()
                .filter(waiting::containsKey)
                .findFirst()
                .orElse(null);
        Waiter waiter = id == null ? null : waiting.get(id);
        if (waiter == null) {
            return;
        }
        try {
            ControlMessage message = ControlMessage.fromRecord(record, id);
            Optional<ControlMessage> accepted = waiter.matcher.offer(record, message);
            if (accepted.isPresent()) {
                waiting.remove(waiter.matcher.deploymentId());
                deliver(waiter, accepted.get());
            }
        } catch (InvalidControlMessageException e) {
            try {
                waiter.matcher.offerInvalid(record, e);
            } catch (InvalidControlMessageException fatal) {
                waiting.remove(waiter.matcher.deploymentId());
                giveUp(waiter, fatal);
            }
        }
    }

    private void expire() {
        for (Iterator<Waiter> it = waiting.values().iterator(); it.hasNext(); ) {
            Waiter waiter = it.next();
            if (waiter.cancelled) {
                it.remove();
                giveUp(
                        waiter,
                        new CancellationException("Stopped waiting for the control message of deployment '"
                                + waiter.matcher.deploymentId() + "'"));
            } else if (waiter.deadline.expired()) {
                it.remove();
                giveUp(
                        waiter,
                        new ControlMessageTimeoutException(waiter.matcher.deploymentId(), topic, waiter.timeout, 0));
            }
        }
    }

    private void deliver(Waiter waiter, ControlMessage message) {
        try {
            waiter.onMessage.accept(message);
        } catch (RuntimeException e) {
            log.error(
                    "[{}] Could not start deployment '{}': {}", topic, waiter.matcher.deploymentId(), e.toString(), e);
        }
    }

    private void giveUp(Waiter waiter, RuntimeException reason) {
        try {
            waiter.onGiveUp.accept(reason);
        } catch (RuntimeException e) {
            log.error(
                    "[{}] Could not record the end of deployment '{}': {}",
                    topic,
                    waiter.matcher.deploymentId(),
                    e.toString(),
                    e);
        }
    }

    private void giveUpAll() {
        register();
        List<Waiter> left = new ArrayList<>(waiting.values());
        waiting.clear();
        left.forEach(w -> giveUp(
                w,
                new CancellationException("The launcher closed while deployment '" + w.matcher.deploymentId()
                        + "' waited for its control message")));
    }

    private Map<Integer, Long> positions() {
        Map<Integer, Long> positions = new HashMap<>();
        for (TopicPartition partition : assigned) {
            positions.put(partition.partition(), consumer.position(partition));
        }
        return positions;
    }

    private void assignNewPartitions() {
        TopicPartitions.assignNew(consumer, topic, assigned, Duration.ofSeconds(5));
    }

    private void sleepUntilWoken() {
        synchronized (idle) {
            if (!closing && registrations.isEmpty()) {
                try {
                    idle.wait(POLL.toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    private void wake() {
        synchronized (idle) {
            idle.notifyAll();
        }
        consumer.wakeup();
    }

    private static void sleepQuietly(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops the listener; deployments still waiting are given up as cancelled. Idempotent. */
    @Override
    public void close() {
        if (closing) {
            return;
        }
        closing = true;
        wake();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(15));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
