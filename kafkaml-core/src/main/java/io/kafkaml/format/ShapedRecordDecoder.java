package io.kafkaml.format;

/**
 * A base for decoders whose feature and label shapes are fixed by their configuration: it answers the shape
 * questions of {@link RecordDecoder}, leaving the decoding to the subclass.
 *
 * <p>Thread safety: not thread-safe, as every {@link RecordDecoder}: use one decoder per thread. Lifecycle: created by
 * its format for one configuration, used as long as the caller needs it, no resources to close.
 */
public abstract class ShapedRecordDecoder implements RecordDecoder {

    private final long[] featureShape;
    private final int featureCount;
    private final long[] labelShape;
    private final int labelCount;

    /**
     * @param featureShape one record's feature shape ({@code []} for a scalar)
     * @param labelShape one record's label shape, or {@code null} when records carry no label
     */
    protected ShapedRecordDecoder(long[] featureShape, long[] labelShape) {
        this.featureShape = featureShape.clone();
        this.featureCount = FormatConfig.elements(featureShape);
        this.labelShape = labelShape == null ? new long[0] : labelShape.clone();
        this.labelCount = labelShape == null ? 0 : FormatConfig.elements(labelShape);
    }

    @Override
    public final int featureCount() {
        return featureCount;
    }

    @Override
    public final long[] featureShape() {
        return featureShape.clone();
    }

    @Override
    public final int labelCount() {
        return labelCount;
    }

    @Override
    public final long[] labelShape() {
        return labelShape.clone();
    }
}
