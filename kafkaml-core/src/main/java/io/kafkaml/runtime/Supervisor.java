package io.kafkaml.runtime;

import io.kafkaml.common.KafkaMlException;
import io.kafkaml.internals.Deadline;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a runner on a thread of its own and keeps it running: when the runner fails (its {@link Runner#run()}
 * throws, or creating it throws), the supervisor logs the cause, waits the backoff of its {@link RestartPolicy}
 * and runs a new runner from the factory; when more failures than the policy allows fall within its window, or
 * when a failure is one a restart cannot cure (the {@code restartable} predicate says no), the unit is
 * {@link State#FAILED} with that cause. A runner that returns from {@code run()} ends the unit as
 * {@link State#STOPPED}, whether it was asked to or not.
 *
 * <pre>{@code
 * Supervisor supervisor = new Supervisor("replica serve-1", () -> new MyRunner(), RestartPolicy.DEFAULT,
 *         Supervisor.RESTART_ALL, Supervisor.Listener.NONE).start();
 * ...
 * supervisor.stop();
 * supervisor.awaitTermination(Duration.ofSeconds(20));
 * }</pre>
 *
 * <p><b>States</b> (as {@code KafkaStreams.State}): CREATED → RUNNING ⇄ RESTARTING → STOPPED | FAILED; the last two
 * are terminal. <b>Thread safety</b>: all methods may be called from any thread; the listener is called on the
 * supervisor's thread, outside its lock. <b>Lifecycle</b>: {@link #start()} once; {@link #close()} stops, waits
 * and is idempotent.
 */
public final class Supervisor implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Supervisor.class);

    /** Restarts after any failure. */
    public static final Predicate<Throwable> RESTART_ALL = failure -> true;

    /** What a supervisor runs. */
    public interface Runner {
        /**
         * Runs until done or stopped. Returning ends the unit (STOPPED); throwing is a failure.
         *
         * @throws Exception why it failed
         */
        void run() throws Exception;

        /** Asks {@link #run()} to return soon; called from another thread, maybe before {@code run} starts. */
        void stop();
    }

    /** Told about restarts and the end. Default methods do nothing. */
    public interface Listener {
        /** A listener that does nothing. */
        Listener NONE = new Listener() {};

        /**
         * A runner failed and a new one will start after {@code backoff}.
         *
         * @param restarts restarts so far, this one included
         */
        default void onRestart(String name, int restarts, Throwable cause, Duration backoff) {}

        /** The unit ended: {@code state} is STOPPED ({@code cause} null) or FAILED (with the cause). */
        default void onTerminated(String name, State state, Throwable cause) {}
    }

    /** The supervised unit's states. */
    public enum State {
        /** Not started. */
        CREATED,
        /** A runner runs. */
        RUNNING,
        /** A runner failed; the next starts after the backoff. */
        RESTARTING,
        /** Ended without failure (terminal). */
        STOPPED,
        /** Ended by a failure past the restart budget or that a restart cannot cure (terminal). */
        FAILED;

        /** Whether the state is final. */
        public boolean isTerminal() {
            return this == STOPPED || this == FAILED;
        }
    }

    private final String name;
    private final Supplier<? extends Runner> factory;
    private final RestartPolicy policy;
    private final Predicate<Throwable> restartable;
    private final Listener listener;
    private final CountDownLatch terminated = new CountDownLatch(1);
    private final Object lock = new Object();
    private final Deque<Long> failureTimes = new ArrayDeque<>();
    private State state = State.CREATED;
    private Runner current;
    private boolean stopRequested;
    private int restarts;
    private Throwable failure;
    private Throwable lastFailure;
    private Thread thread;

    /**
     * @param name names the unit in logs and the thread ({@code kafkaml-supervisor | name})
     * @param factory makes a new runner for each (re)start; what it throws counts as a failure
     * @param policy the restart budget and backoff
     * @param restartable whether a failure may be cured by a restart; {@code false} fails the unit at once
     * @param listener told about restarts and the end
     */
    public Supervisor(
            String name,
            Supplier<? extends Runner> factory,
            RestartPolicy policy,
            Predicate<Throwable> restartable,
            Listener listener) {
        this.name = Objects.requireNonNull(name, "name");
        this.factory = Objects.requireNonNull(factory, "factory");
        this.policy = Objects.requireNonNull(policy, "policy");
        this.restartable = Objects.requireNonNull(restartable, "restartable");
        this.listener = Objects.requireNonNull(listener, "listener");
    }

    /**
     * Starts the first runner on a new daemon thread.
     *
     * @throws IllegalStateException if already started
     */
    public Supervisor start() {
        synchronized (lock) {
            if (state != State.CREATED) {
                throw new IllegalStateException("Supervisor " + name + " cannot start in state " + state);
            }
            state = State.RUNNING;
            thread = new Thread(this::supervise, "kafkaml-supervisor | " + name);
            thread.setDaemon(true);
        }
        thread.start();
        return this;
    }

    private void supervise() {
        Throwable finalCause = null;
        State end = State.STOPPED;
        while (true) {
            Runner runner;
            Throwable failed = null;
            try {
                runner = factory.get();
                synchronized (lock) {
                    current = runner;
                    if (stopRequested) {
                        runner.stop();
                    }
                }
                runner.run();
            } catch (Exception | Error e) {
                failed = e;
            }
            synchronized (lock) {
                current = null;
                if (failed == null || stopRequested) {
                    if (failed != null) {
                        log.info("[{}] failed while stopping: {}", name, failed.toString());
                    }
                    break;
                }
                lastFailure = failed;
            }
            if (!restartable.test(failed)) {
                log.error("[{}] failed; a restart cannot cure this: {}", name, failed.toString(), failed);
                end = State.FAILED;
                finalCause = failed;
                break;
            }
            Duration backoff;
            int restart;
            synchronized (lock) {
                long now = System.nanoTime();
                failureTimes.addLast(now);
                while (!failureTimes.isEmpty()
                        && now - failureTimes.peekFirst() > policy.window().toNanos()) {
                    failureTimes.removeFirst();
                }
                if (failureTimes.size() > policy.maxRestarts()) {
                    end = State.FAILED;
                    finalCause = failed;
                    log.error(
                            "[{}] failed {} time(s) within {}; the restart budget ({}) is spent: {}",
                            name,
                            failureTimes.size(),
                            policy.window(),
                            policy.maxRestarts(),
                            failed.toString(),
                            failed);
                    break;
                }
                restart = ++restarts;
                backoff = policy.backoff(failureTimes.size());
                state = State.RESTARTING;
            }
            log.warn(
                    "[{}] failed, restart {} in {} ms: {}",
                    name,
                    restart,
                    backoff.toMillis(),
                    failed.toString(),
                    failed);
            try {
                listener.onRestart(name, restart, failed, backoff);
            } catch (RuntimeException e) {
                log.warn("[{}] a restart listener failed", name, e);
            }
            if (!backOff(backoff)) {
                synchronized (lock) {
                    if (!stopRequested) { // interrupted, not stopped: the unit ends without its restart
                        end = State.FAILED;
                        finalCause = new KafkaMlException(
                                "Supervisor " + name + " was interrupted while waiting "
                                        + "to restart after a failure: " + failed,
                                failed);
                        log.error("[{}] interrupted during the backoff before restart {}; failing", name, restart);
                    }
                }
                break;
            }
            synchronized (lock) {
                if (stopRequested) {
                    break;
                }
                state = State.RUNNING;
            }
        }
        synchronized (lock) {
            state = end;
            failure = finalCause;
        }
        try {
            listener.onTerminated(name, end, finalCause);
        } catch (RuntimeException e) {
            log.warn("[{}] a termination listener failed", name, e);
        } finally {
            terminated.countDown();
        }
    }

    /** Waits out a backoff; false if a stop came first. */
    private boolean backOff(Duration backoff) {
        Deadline deadline = Deadline.after(backoff);
        synchronized (lock) {
            while (!stopRequested && !deadline.expired()) {
                try {
                    lock.wait(Math.max(1, deadline.remaining().toMillis()));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return !stopRequested;
        }
    }

    /** Asks the current runner to stop and ends the unit when it returns (no restart). Idempotent. */
    public void stop() {
        Runner runner;
        synchronized (lock) {
            stopRequested = true;
            runner = current;
            lock.notifyAll();
            if (state == State.CREATED) {
                state = State.STOPPED;
                terminated.countDown();
            }
        }
        if (runner != null) {
            runner.stop();
        }
    }

    /** Waits until the unit is STOPPED or FAILED; true if it is. */
    public boolean awaitTermination(Duration timeout) {
        try {
            return terminated.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** The unit's name. */
    public String name() {
        return name;
    }

    /** The current state. */
    public State state() {
        synchronized (lock) {
            return state;
        }
    }

    /** Restarts so far. */
    public int restarts() {
        synchronized (lock) {
            return restarts;
        }
    }

    /** The failure that ended the unit (FAILED), else {@code null}. */
    public Throwable failure() {
        synchronized (lock) {
            return failure;
        }
    }

    /** The most recent failure of a runner, restarted or not; {@code null} if none failed. */
    public Throwable lastFailure() {
        synchronized (lock) {
            return lastFailure;
        }
    }

    /** The runner running now, or {@code null} between runs. */
    public Runner current() {
        synchronized (lock) {
            return current;
        }
    }

    /** Stops and waits up to 30 s for the runner to return. Idempotent. */
    @Override
    public void close() {
        stop();
        if (!awaitTermination(Duration.ofSeconds(30))) {
            log.warn("[{}] did not stop within 30 s", name);
        }
    }

    @Override
    public String toString() {
        return "Supervisor[" + name + ", " + state() + ", restarts " + restarts() + "]";
    }
}
