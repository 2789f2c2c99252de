package io.kafkaml.server.internals;

import io.kafkaml.common.KafkaMlException;

/** A request the API refuses with an HTTP status and a one-line reason. */
public final class ApiException extends KafkaMlException {
    private static final long serialVersionUID = 1L;

    private final int status;

    /**
     * @param status the HTTP status (4xx or 5xx)
     * @param reason the one-line reason the client is given
     */
    public ApiException(int status, String reason) {
        super(reason);
        this.status = status;
    }

    /** The HTTP status. */
    public int status() {
        return status;
    }
}
