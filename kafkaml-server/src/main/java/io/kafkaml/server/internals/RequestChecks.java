package io.kafkaml.server.internals;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The header checks that keep web pages from driving a server (cross-site request forgery, DNS rebinding): the
 * {@code Host} a request is addressed to, the {@code Origin} of a page that sends it, the media type of its body
 * (a JSON body must say {@code application/json}, which a page can send cross-origin only after a CORS preflight that
 * this server does not answer), and the {@code Authorization} scheme (case-insensitive, RFC 7235). Names are never
 * resolved: a rebinding name resolves to the loopback address, which is what the check must not trust. Stateless.
 */
final class RequestChecks {

    private static final Pattern IPV4_LOOPBACK = Pattern.compile("127(\\.\\d{1,3}){3}");

    private RequestChecks() {}

    /**
     * Whether a {@code Host} header names this machine's loopback ({@code localhost}, {@code 127.x.x.x},
     * {@code [::1]}) or the address the server binds, with any port.
     *
     * @param hostHeader the {@code Host} header, e.g. {@code 127.0.0.1:8080} or {@code [::1]:8080}
     * @param bound the address the server binds
     */
    static boolean isLocalHost(String hostHeader, String bound) {
        String name = hostName(hostHeader);
        if (name == null) {
            return false;
        }
        return name.equals("localhost")
                || IPV4_LOOPBACK.matcher(name).matches()
                || name.equals("::1")
                || name.equals("0:0:0:0:0:0:0:1")
                || name.equals(bound.toLowerCase(Locale.ROOT).replace("[", "").replace("]", ""));
    }

    /** The name part of a {@code Host} header (lower case, without port and IPv6 brackets), or null if malformed. */
    static String hostName(String hostHeader) {
        String host = hostHeader.trim().toLowerCase(Locale.ROOT);
        if (host.startsWith("[")) {
            int end = host.indexOf(']');
            return end < 0 ? null : host.substring(1, end);
        }
        int colon = host.indexOf(':');
        String name = colon < 0 ? host : host.substring(0, colon);
        return name.isEmpty() ? null : name;
    }

    /**
     * Whether a page's {@code Origin} is the server's own: its host and port are those the request is addressed to
     * ({@code Host}). {@code null} origins (sandboxed frames, files) are not.
     */
    static boolean sameOrigin(String origin, String hostHeader) {
        if (hostHeader == null || origin.isBlank() || "null".equals(origin.trim())) {
            return false;
        }
        try {
            URI uri = new URI(origin.trim());
            String authority = uri.getRawAuthority();
            return authority != null
                    && ("http".equalsIgnoreCase(uri.getScheme()) || "https".equalsIgnoreCase(uri.getScheme()))
                    && authority.equalsIgnoreCase(hostHeader.trim());
        } catch (URISyntaxException e) {
            return false;
        }
    }

    /** Whether a {@code Content-Type} header is JSON ({@code application/json} or {@code application/*+json}). */
    static boolean isJson(String contentType) {
        String type = mediaType(contentType);
        return type.equals("application/json") || type.startsWith("application/") && type.endsWith("+json");
    }

    /** The media type of a {@code Content-Type} header, lower case, without parameters; empty when there is none. */
    static String mediaType(String contentType) {
        if (contentType == null) {
            return "";
        }
        int semicolon = contentType.indexOf(';');
        return (semicolon < 0 ? contentType : contentType.substring(0, semicolon))
                .trim()
                .toLowerCase(Locale.ROOT);
    }

    /** The credentials of an {@code Authorization: Bearer ...} header (scheme in any case), or "" for none. */
    static String bearer(String header) {
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return "";
        }
        return header.substring(7).trim();
    }

    /**
     * Refuses a state-changing request with no body that a web page could send without a CORS preflight (a plain
     * {@code <form method=post>} or a no-cors {@code fetch}, which some browsers and privacy proxies send without
     * {@code Origin}): it must carry {@code Content-Type: application/json} (the body may be empty), an
     * {@code X-Requested-With} header (any value; the dashboard sends one) or an {@code Authorization} header, none of
     * which a page can send cross-origin unless the server consents, which it never does.
     *
     * @throws ApiException 415 naming what to send
     */
    static void requirePreflighted(String contentType, String requestedWith, String authorization) {
        boolean json = contentType != null
                && contentType.strip().toLowerCase(Locale.ROOT).startsWith("application/json");
        if (json
                || (requestedWith != null && !requestedWith.isBlank())
                || (authorization != null && !authorization.isBlank())) {
            return;
        }
        throw new ApiException(
                415,
                "A call that changes state must be sent with 'Content-Type: application/json' (the body may be empty) "
                        + "or an 'X-Requested-With' header, got Content-Type "
                        + (contentType == null ? "none" : "'" + contentType + "'")
                        + " (a web page cannot send either to this server)");
    }
}
