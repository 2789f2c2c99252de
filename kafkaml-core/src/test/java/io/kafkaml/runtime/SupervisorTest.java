package io.kafkaml.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

class SupervisorTest {

    static final RestartPolicy FAST =
            new RestartPolicy(2, Duration.ofMinutes(1), Duration.ofMillis(1), Duration.ofMillis(4));

    /** A runner that fails {@code failures} times, then runs until stopped. */
    static final class Flaky implements Supervisor.Runner {
        final CountDownLatch stopped = new CountDownLatch(1);
        final boolean fail;

        Flaky(boolean fail) {
            this.fail = fail;
        }

        @Override
        public void run() throws Exception {
            if (fail) {
                throw new IllegalStateException("boom");
            }
            stopped.await();
        }

        @Override
        public void stop() {
            stopped.countDown();
        }
    }

    static class Recorder implements Supervisor.Listener {
        final List<String> events = new CopyOnWriteArrayList<>();

        @Override
        public void onRestart(String name, int restarts, Throwable cause, Duration backoff) {
            events.add("restart " + restarts + " " + cause.getMessage() + " " + backoff.toMillis());
        }

        @Override
        public void onTerminated(String name, Supervisor.State state, Throwable cause) {
            events.add(state + (cause == null ? "" : " " + cause.getMessage()));
        }
    }

    @Test
    void aFailedRunnerIsReplacedWithBackoffAndTheUnitRunsOn() {
        AtomicInteger made = new AtomicInteger();
        Recorder recorder = new Recorder();
        Supervisor supervisor = new Supervisor(
                        "flaky", () -> new Flaky(made.incrementAndGet() <= 2), FAST, Supervisor.RESTART_ALL, recorder)
                .start();
        org.awaitility.Awaitility.await()
                .atMost(10, TimeUnit.SECONDS)
                .until(() -> made.get() == 3 && supervisor.state() == Supervisor.State.RUNNING);
        assertThat(supervisor.restarts()).isEqualTo(2);
        assertThat(supervisor.lastFailure()).hasMessage("boom");
        supervisor.stop();
        assertThat(supervisor.awaitTermination(Duration.ofSeconds(10))).isTrue();
        assertThat(supervisor.state()).isEqualTo(Supervisor.State.STOPPED);
        assertThat(supervisor.failure()).isNull();
        assertThat(recorder.events).containsExactly("restart 1 boom 1", "restart 2 boom 2", "STOPPED");
    }

    @Test
    void pastTheBudgetTheUnitFailsWithTheCause() {
        AtomicInteger made = new AtomicInteger();
        Recorder recorder = new Recorder();
        Supervisor supervisor = new Supervisor(
                        "broken",
                        () -> {
                            made.incrementAndGet();
                            return new Flaky(true);
                        },
                        FAST,
                        Supervisor.RESTART_ALL,
                        recorder)
                .start();
        assertThat(supervisor.awaitTermination(Duration.ofSeconds(10))).isTrue();
        assertThat(supervisor.state()).isEqualTo(Supervisor.State.FAILED);
        assertThat(supervisor.failure()).hasMessage("boom");
        assertThat(made).hasValue(3); // the first run and two restarts
        assertThat(recorder.events).containsExactly("restart 1 boom 1", "restart 2 boom 2", "FAILED boom");
    }

    @Test
    void aFailureARestartCannotCureFailsAtOnce() {
        Recorder recorder = new Recorder();
        Supervisor supervisor =
                new Supervisor("fatal", () -> new Flaky(true), FAST, failure -> false, recorder).start();
        assertThat(supervisor.awaitTermination(Duration.ofSeconds(10))).isTrue();
        assertThat(supervisor.state()).isEqualTo(Supervisor.State.FAILED);
        assertThat(supervisor.restarts()).isZero();
        assertThat(recorder.events).containsExactly("FAILED boom");
    }

    @Test
    void aStopDuringTheBackoffEndsTheUnitWithoutAnotherRun() {
        AtomicInteger made = new AtomicInteger();
        RestartPolicy slow = FAST.withBackoff(Duration.ofMinutes(5), Duration.ofMinutes(5));
        Supervisor supervisor = new Supervisor(
                        "slow",
                        () -> {
                            made.incrementAndGet();
                            return new Flaky(true);
                        },
                        slow,
                        Supervisor.RESTART_ALL,
                        Supervisor.Listener.NONE)
                .start();
        org.awaitility.Awaitility.await()
                .atMost(10, TimeUnit.SECONDS)
                .until(() -> supervisor.state() == Supervisor.State.RESTARTING);
        supervisor.stop();
        assertThat(supervisor.awaitTermination(Duration.ofSeconds(10))).isTrue();
        assertThat(supervisor.state()).isEqualTo(Supervisor.State.STOPPED);
        assertThat(made).hasValue(1);
        assertThatThrownBy(supervisor::start).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void backoffDoublesUpToItsMaximumAndSettingsAreRead() {
        RestartPolicy policy = RestartPolicy.DEFAULT;
        assertThat(policy.backoff(1)).isEqualTo(Duration.ofSeconds(1));
        assertThat(policy.backoff(3)).isEqualTo(Duration.ofSeconds(4));
        assertThat(policy.backoff(10)).isEqualTo(Duration.ofSeconds(30));
        assertThat(RestartPolicy.fromConfig(Map.of())).isEqualTo(RestartPolicy.DEFAULT);
        assertThat(RestartPolicy.fromConfig(
                        Map.of(RestartPolicy.MAX_RESTARTS_CONFIG, "2", RestartPolicy.BACKOFF_MS_CONFIG, "10")))
                .isEqualTo(RestartPolicy.DEFAULT
                        .withMaxRestarts(2)
                        .withBackoff(Duration.ofMillis(10), Duration.ofSeconds(30)));
        assertThatThrownBy(() -> RestartPolicy.fromConfig(Map.of(RestartPolicy.MAX_RESTARTS_CONFIG, "many")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(RestartPolicy.MAX_RESTARTS_CONFIG)
                .hasMessageContaining("many");
    }

    @Test
    void aThrowingRestartListenerDoesNotKillTheSupervisor() {
        AtomicInteger made = new AtomicInteger();
        Recorder recorder = new Recorder() {
            @Override
            public void onRestart(String name, int restarts, Throwable cause, Duration backoff) {
                super.onRestart(name, restarts, cause, backoff);
                throw new IllegalStateException("listener bug");
            }
        };
        Supervisor supervisor = new Supervisor(
                        "listened",
                        () -> new Flaky(made.incrementAndGet() <= 1),
                        FAST,
                        Supervisor.RESTART_ALL,
                        recorder)
                .start();
        org.awaitility.Awaitility.await()
                .atMost(10, TimeUnit.SECONDS)
                .until(() -> made.get() == 2 && supervisor.state() == Supervisor.State.RUNNING);
        supervisor.stop();
        assertThat(supervisor.awaitTermination(Duration.ofSeconds(10))).isTrue();
        assertThat(supervisor.state()).isEqualTo(Supervisor.State.STOPPED);
        assertThat(recorder.events).containsExactly("restart 1 boom 1", "STOPPED");
    }

    @Test
    void anInterruptDuringTheBackoffFailsTheUnitWithTheReasonInsteadOfClaimingAStop() {
        AtomicInteger made = new AtomicInteger();
        Recorder recorder = new Recorder() {
            @Override
            public void onRestart(String name, int restarts, Throwable cause, Duration backoff) {
                super.onRestart(name, restarts, cause, backoff);
                Thread.currentThread().interrupt(); // the listener runs on the supervisor's thread
            }
        };
        Supervisor supervisor = new Supervisor(
                        "interrupted",
                        () -> new Flaky(made.incrementAndGet() <= 1),
                        new RestartPolicy(2, Duration.ofMinutes(1), Duration.ofSeconds(30), Duration.ofSeconds(30)),
                        Supervisor.RESTART_ALL,
                        recorder)
                .start();
        assertThat(supervisor.awaitTermination(Duration.ofSeconds(10))).isTrue();
        assertThat(supervisor.state()).isEqualTo(Supervisor.State.FAILED);
        assertThat(supervisor.failure()).hasMessageContaining("interrupted").hasRootCauseMessage("boom");
        assertThat(made).hasValue(1);
        assertThat(recorder.events).hasSize(2).last().asString().startsWith("FAILED");
    }
}
