package io.kafkaml.fuzz;

import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/** Valid inputs mutated as a fuzzer does: bytes flipped, replaced, inserted, deleted, truncated, duplicated. */
final class Mutations {

    private Mutations() {}

    static Arbitrary<byte[]> of(List<byte[]> seeds) {
        return Combinators.combine(Arbitraries.of(seeds), Arbitraries.integers().between(1, 8), Arbitraries.longs())
                .as(Mutations::mutate);
    }

    static byte[] mutate(byte[] seed, int count, long randomSeed) {
        java.util.Random random = new java.util.Random(randomSeed);
        byte[] data = seed.clone();
        for (int i = 0; i < count; i++) {
            int at = data.length == 0 ? 0 : random.nextInt(data.length);
            switch (random.nextInt(6)) {
                case 0 -> {
                    if (data.length > 0) {
                        data[at] ^= (byte) (1 << random.nextInt(8));
                    }
                }
                case 1 -> {
                    if (data.length > 0) {
                        data[at] = (byte) "{}[],:\"0123456789-.eE \\".charAt(random.nextInt(23));
                    }
                }
                case 2 -> {
                    byte[] grown = new byte[data.length + 1];
                    System.arraycopy(data, 0, grown, 0, at);
                    grown[at] = (byte) random.nextInt(256);
                    System.arraycopy(data, at, grown, at + 1, data.length - at);
                    data = grown;
                }
                case 3 -> {
                    if (data.length > 0) {
                        byte[] shrunk = new byte[data.length - 1];
                        System.arraycopy(data, 0, shrunk, 0, at);
                        System.arraycopy(data, at + 1, shrunk, at, data.length - at - 1);
                        data = shrunk;
                    }
                }
                case 4 -> data = Arrays.copyOf(data, at);
                default -> {
                    byte[] doubled = Arrays.copyOf(data, data.length * 2);
                    System.arraycopy(data, 0, doubled, data.length, data.length);
                    data = doubled;
                }
            }
        }
        return data;
    }
}
