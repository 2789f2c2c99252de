package io.kafkaml.server.internals;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.javalin.http.HttpResponseException;
import io.javalin.http.HttpStatus;
import io.kafkaml.common.KafkaAccessException;
import io.kafkaml.control.InvalidControlMessageException;
import io.kafkaml.model.InvalidModelException;
import io.kafkaml.registry.DuplicateEntityException;
import io.kafkaml.registry.EntityNotFoundException;
import io.kafkaml.registry.IllegalStatusTransitionException;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.common.config.ConfigException;

/**
 * The JSON body of every error answer: {@code {"status": 404, "error": "Not Found", "reason": "..."}}, where
 * {@code reason} is the one line the {@code kafkaml} command prints for the same failure (line breaks folded, a broker's
 * refusal named with principal, resource and operation).
 *
 * @param status the HTTP status code
 * @param error the status's reason phrase
 * @param reason what went wrong, in one line
 */
public record ApiError(int status, String error, String reason) {

    /**
     * The answer for a failure: its status by kind (kafkaml's not found 404; its duplicate, in use and status
     * transition conflicts 409; bad input 400; any other exception, e.g. an internal {@link NullPointerException} or
     * {@link IllegalStateException}, 500).
     */
    public static ApiError of(Throwable failure, Map<String, Object> clientConfig) {
        return new ApiError(statusOf(failure), phrase(statusOf(failure)), reason(failure, clientConfig));
    }

    /** An answer with this status and reason. */
    public static ApiError of(int status, String reason) {
        return new ApiError(status, phrase(status), reason);
    }

    static int statusOf(Throwable failure) {
        if (failure instanceof ApiException api) {
            return api.status();
        }
        if (failure instanceof HttpResponseException http) {
            return http.getStatus();
        }
        if (failure instanceof EntityNotFoundException) {
            return 404;
        }
        if (failure instanceof DuplicateEntityException
                || failure instanceof io.kafkaml.registry.EntityInUseException
                || failure instanceof IllegalStatusTransitionException) {
            return 409;
        }
        if (failure instanceof InvalidModelException
                || failure instanceof InvalidControlMessageException
                || failure instanceof IllegalArgumentException
                || failure instanceof ConfigException
                || failure instanceof JsonProcessingException) {
            return 400;
        }
        // anything else (a NullPointerException, an IllegalStateException of a closed client) is a fault of the
        // server, not of the request: 500, logged with its cause
        return 500;
    }

    /**
     * The one-line reason, as {@code kafkaml}'s command line prints it: the message (or the exception's name when it
     * has none) with line breaks folded; a broker's refusal (ACL, SASL, TLS) named with what kafkaml needed.
     */
    public static String reason(Throwable failure, Map<String, Object> clientConfig) {
        String message = failure.getMessage();
        if (message == null || message.isBlank()) {
            message = failure.getClass().getSimpleName();
        }
        Optional<KafkaAccessException> access =
                KafkaAccessException.find(failure, clientConfig == null ? Map.of() : clientConfig, "DESCRIBE and READ");
        if (access.isPresent() && !message.contains(access.get().getMessage())) {
            message = access.get().getMessage();
        }
        return message.replaceAll("\\s*\\R\\s*", " ");
    }

    private static String phrase(int status) {
        HttpStatus http = HttpStatus.forStatus(status);
        return http == HttpStatus.UNKNOWN ? "Error" : http.getMessage();
    }
}
