package io.kafkaml.server.internals;

import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import java.util.List;

/**
 * One endpoint of the REST API: what Javalin serves and what the OpenAPI document describes come from the same
 * value, so the two cannot drift apart.
 *
 * @param method the HTTP method
 * @param path the path below {@code /api/v1}, with {@code {name}} path parameters
 * @param tag the group it belongs to (models, configurations, ...)
 * @param summary one line for the OpenAPI document
 * @param kafkaMl the Kafka-ML back-end path of the same meaning (documented mapping), or {@code null}
 * @param body what the request body is ({@code null} for none)
 * @param response what a successful answer holds
 * @param status the status of a successful answer
 * @param queryParams the query parameters it reads
 * @param fields the fields of a JSON object body, by name, with their JSON Schema type ({@code string},
 *     {@code integer}, {@code object}, ..., or {@code any}); a body may hold no other
 * @param handler the code
 */
public record Route(
        HandlerType method,
        String path,
        String tag,
        String summary,
        String kafkaMl,
        Body body,
        Body response,
        int status,
        List<String> queryParams,
        java.util.Map<String, String> fields,
        Handler handler) {

    /** The media type and shape of a request or response body. */
    public enum Body {
        /** A JSON object. */
        JSON_OBJECT("application/json"),
        /** A JSON array. */
        JSON_ARRAY("application/json"),
        /** Bytes (a model file). */
        BINARY("application/octet-stream"),
        /** Server-Sent Events. */
        EVENTS("text/event-stream"),
        /** No body. */
        NONE(null);

        private final String mediaType;

        Body(String mediaType) {
            this.mediaType = mediaType;
        }

        /** The media type, or {@code null} for none. */
        public String mediaType() {
            return mediaType;
        }
    }

    /** Whether the call changes state (and so needs the token when one is set). */
    public boolean mutating() {
        return method != HandlerType.GET && method != HandlerType.HEAD && method != HandlerType.OPTIONS;
    }
}
