package io.kafkaml.internals;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Bulk copies between Java arrays and ND4J arrays. Not public API. */
public final class NdArrays {
    private NdArrays() {}

    /**
     * A {@code [rows, columns]} float array holding the first {@code rows × columns} values of {@code source},
     * copied in bulk into the array's native memory ({@code Nd4j.create(float[])} copies element by element,
     * which costs more than decoding).
     */
    public static INDArray fromFloats(float[] source, int rows, int columns) {
        INDArray array = Nd4j.createUninitialized(DataType.FLOAT, rows, columns);
        array.data().asNioFloat().put(source, 0, rows * columns);
        return array;
    }
}
