package io.kafkaml.archfixture;

import io.kafkaml.archfixture.internals.Hidden;

/** Uses an internals type only where a user cannot see it: the rule must accept it (test fixture). */
public class HidesInternals {
    private final Hidden hidden = new Hidden();

    public String describe() {
        return hidden.self().toString();
    }

    Hidden packagePrivate() {
        return hidden;
    }

    private static final class PrivateNested {
        public Hidden leaksNothing() {
            return new Hidden();
        }
    }

    static Object use() {
        return new PrivateNested().leaksNothing();
    }
}
