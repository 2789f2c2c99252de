package io.kafkaml.model;

/**
 * Thrown when the records of a data stream do not have the shape a model takes, before any training or
 * serving starts. The message names both shapes: the model's (from its {@link InputLayout}) and the stream's
 * (its {@code data_reshape}, or the shape its format declares).
 *
 * <p>Thread safety: immutable once thrown (its fields are final); an instance describes one failure and is not reused.
 */
public class InputShapeException extends InvalidModelException {
    private static final long serialVersionUID = 1L;

    private final String modelShape;
    private final String streamShape;

    /**
     * @param message the whole message, naming both shapes
     * @param modelShape the model's input shape as {@link InputLayout#describe()} writes it
     * @param streamShape the stream's record shape, e.g. {@code [3, 3, 1]}
     */
    public InputShapeException(String message, String modelShape, String streamShape) {
        super(message);
        this.modelShape = modelShape;
        this.streamShape = streamShape;
    }

    public InputShapeException(String message, String modelShape, String streamShape, Throwable cause) {
        super(message, cause);
        this.modelShape = modelShape;
        this.streamShape = streamShape;
    }

    /** The model's input shape, described. */
    public String modelShape() {
        return modelShape;
    }

    /** The stream's record shape. */
    public String streamShape() {
        return streamShape;
    }
}
