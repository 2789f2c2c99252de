package io.kafkaml.server.internals;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RequestChecksTest {

    @Test
    void aServerWithoutATokenAnswersOnlyItsOwnNamesWithoutResolvingAny() {
        assertThat(RequestChecks.isLocalHost("127.0.0.1:8080", "127.0.0.1")).isTrue();
        assertThat(RequestChecks.isLocalHost("localhost:8080", "127.0.0.1")).isTrue();
        assertThat(RequestChecks.isLocalHost("LOCALHOST", "127.0.0.1")).isTrue();
        assertThat(RequestChecks.isLocalHost("127.1.2.3", "127.0.0.1")).isTrue();
        assertThat(RequestChecks.isLocalHost("[::1]:8080", "127.0.0.1")).isTrue();
        assertThat(RequestChecks.isLocalHost("kafkaml.internal:8080", "kafkaml.internal"))
                .isTrue();
        // a rebinding name resolves to 127.0.0.1: it must not pass
        assertThat(RequestChecks.isLocalHost("evil.example:8080", "127.0.0.1")).isFalse();
        assertThat(RequestChecks.isLocalHost("127.0.0.1.evil.example", "127.0.0.1"))
                .isFalse();
        assertThat(RequestChecks.isLocalHost("localhost.evil.example:8080", "127.0.0.1"))
                .isFalse();
        assertThat(RequestChecks.isLocalHost("[::1", "127.0.0.1")).isFalse();
        assertThat(RequestChecks.isLocalHost(":8080", "127.0.0.1")).isFalse();
    }

    @Test
    void onlyThePagesOfTheServerItselfAreItsOrigin() {
        assertThat(RequestChecks.sameOrigin("http://127.0.0.1:8080", "127.0.0.1:8080"))
                .isTrue();
        assertThat(RequestChecks.sameOrigin("https://kafkaml.example", "kafkaml.example"))
                .isTrue();
        assertThat(RequestChecks.sameOrigin("http://evil.example", "127.0.0.1:8080"))
                .isFalse();
        assertThat(RequestChecks.sameOrigin("http://127.0.0.1:9999", "127.0.0.1:8080"))
                .isFalse();
        assertThat(RequestChecks.sameOrigin("null", "127.0.0.1:8080")).isFalse();
        assertThat(RequestChecks.sameOrigin("file://x", "127.0.0.1:8080")).isFalse();
        assertThat(RequestChecks.sameOrigin("http://127.0.0.1:8080", null)).isFalse();
    }

    @Test
    void jsonBodiesSayTheyAreJsonAndTheBearerSchemeIsCaseInsensitive() {
        assertThat(RequestChecks.isJson("application/json")).isTrue();
        assertThat(RequestChecks.isJson("Application/JSON; charset=utf-8")).isTrue();
        assertThat(RequestChecks.isJson("application/problem+json")).isTrue();
        assertThat(RequestChecks.isJson("text/plain")).isFalse();
        assertThat(RequestChecks.isJson("application/x-www-form-urlencoded")).isFalse();
        assertThat(RequestChecks.isJson(null)).isFalse();
        assertThat(RequestChecks.bearer("Bearer abc ")).isEqualTo("abc");
        assertThat(RequestChecks.bearer("bearer abc")).isEqualTo("abc");
        assertThat(RequestChecks.bearer("Basic abc")).isEmpty();
        assertThat(RequestChecks.bearer(null)).isEmpty();
    }
}
