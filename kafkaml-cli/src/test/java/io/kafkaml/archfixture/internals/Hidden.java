package io.kafkaml.archfixture.internals;

/** Stands for an implementation class (test fixture of the public-surface rule). */
public class Hidden {
    /** An internal exception type. */
    public static class Failure extends RuntimeException {
        private static final long serialVersionUID = 1L;
    }

    /** An internals type may expose other internals: it is not API. */
    public Hidden self() {
        return this;
    }
}
