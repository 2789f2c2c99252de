package io.kafkaml.format;

import io.kafkaml.common.KafkaMlException;

/**
 * Thrown when a format's {@code input_config} is missing a setting, has one it does not know, or has one
 * with a bad value. The message names the format and the setting and says what is allowed.
 *
 * <p>Thread safety: immutable once thrown (its fields are final); an instance describes one failure and is not reused.
 */
public class InvalidFormatConfigException extends KafkaMlException {
    private static final long serialVersionUID = 1L;

    public InvalidFormatConfigException(String message) {
        super(message);
    }

    public InvalidFormatConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
