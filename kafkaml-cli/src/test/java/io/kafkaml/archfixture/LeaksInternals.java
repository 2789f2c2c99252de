package io.kafkaml.archfixture;

import io.kafkaml.archfixture.internals.Hidden;
import java.util.List;

/** A deliberately leaking public type: every kind of exposure the rule must report (test fixture). */
public class LeaksInternals extends Hidden {
    public Hidden exposedField;
    private Hidden privateField;

    public LeaksInternals(Hidden hidden) {
        this.privateField = hidden;
    }

    public List<Hidden> list() {
        return List.of(privateField);
    }

    public <T extends Hidden> T bounded(T value) {
        return value;
    }

    public void fail() throws Hidden.Failure {
        throw new Hidden.Failure();
    }

    void internal(Hidden hidden) {
        exposedField = hidden;
    }

    /** A public nested type is public API as well. */
    public static final class Nested {
        public Hidden hidden() {
            return new Hidden();
        }
    }
}
