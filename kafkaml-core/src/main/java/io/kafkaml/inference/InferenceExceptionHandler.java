package io.kafkaml.inference;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides what an inference replica does with an input that fails for a reason of its own, in the manner of Kafka
 * Streams' {@code DeserializationExceptionHandler} and {@code ProductionExceptionHandler}: {@link Response#CONTINUE}
 * writes the input to the dead-letter topic (when the deployment has one; else it is logged, counted and dropped)
 * and moves on; {@link Response#FAIL} ends the deployment as FAILED with the input's topic, partition, offset and
 * the cause. Either way the input is never retried in a loop: a restart would meet the same input again, so a
 * FAIL is not restarted.
 *
 * <p>Chosen with the setting {@value InferenceConfig#EXCEPTION_HANDLER_CONFIG} (a class name with a public no-arg
 * constructor); the default is {@link DeadLetterOrFail}. Called on the replica's thread; one instance per replica,
 * so an implementation need not be thread-safe.
 */
public interface InferenceExceptionHandler {

    /** Where an input failed. */
    enum Stage {
        /** Its bytes could not be decoded into features ({@link io.kafkaml.format.RecordDecodeException}). */
        DECODE,
        /** The model could not predict it (an exception from the forward pass on that row). */
        PREDICT,
        /**
         * Its prediction could not be encoded or the producer refused it for a reason of the record itself (for
         * example {@code RecordTooLargeException}: larger than the producer's {@code max.request.size}).
         */
        PRODUCE
    }

    /** What to do with the input. */
    enum Response {
        /** Dead-letter it (or drop and count it without a dead-letter topic) and carry on. */
        CONTINUE,
        /** End the deployment as FAILED with the cause. */
        FAIL
    }

    /**
     * A failed input.
     *
     * @param input the input record, with its topic, partition and offset
     * @param stage where it failed
     * @param cause why
     * @param deadLetterTopic the deployment's dead-letter topic, or {@code null}
     */
    record FailedInput(ConsumerRecord<byte[], byte[]> input, Stage stage, Throwable cause, String deadLetterTopic) {
        /** {@code topic-partition@offset}, as logs and errors name the input. */
        public String location() {
            return input.topic() + "-" + input.partition() + "@" + input.offset();
        }
    }

    /** Decides; must not throw. */
    Response handle(FailedInput failure);

    /**
     * The default: an undecodable input always continues (dead-lettered, or logged and dropped without a
     * dead-letter topic, as a bad record must never stop a deployment); an input that failed in the model or the
     * producer continues only when there is a dead-letter topic to keep it, and otherwise FAILs visibly.
     */
    final class DeadLetterOrFail implements InferenceExceptionHandler {
        @Override
        public Response handle(FailedInput failure) {
            return failure.stage() == Stage.DECODE || failure.deadLetterTopic() != null
                    ? Response.CONTINUE
                    : Response.FAIL;
        }
    }

    /** Always continues (dead-letters when there is a dead-letter topic, else logs and drops). */
    final class LogAndContinue implements InferenceExceptionHandler {
        private static final Logger log = LoggerFactory.getLogger(LogAndContinue.class);

        @Override
        public Response handle(FailedInput failure) {
            if (failure.deadLetterTopic() == null) {
                log.warn(
                        "Skipping input {} ({}): {}",
                        failure.location(),
                        failure.stage(),
                        failure.cause().toString());
            }
            return Response.CONTINUE;
        }
    }

    /** Always fails. */
    final class LogAndFail implements InferenceExceptionHandler {
        @Override
        public Response handle(FailedInput failure) {
            return Response.FAIL;
        }
    }
}
