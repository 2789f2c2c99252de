package io.kafkaml.common;

import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;

/**
 * The broker refused kafkaml: a missing ACL (authorization), a wrong user or password (SASL authentication), or a
 * TLS handshake that failed (an untrusted certificate authority, a host name the certificate does not name). The
 * message is one line that names the principal, the resource and the operation kafkaml needed, for example
 * {@code User:alice is not authorized to WRITE topic 'hcopd-out' (an ACL must allow it)}. Such a failure is final:
 * kafkaml never retries it, and a runner that meets it stops with this reason.
 *
 * <p>Built from Kafka's exceptions by {@link #find(Throwable, Map, String)}; the Kafka exception is the cause.
 * Immutable.
 */
public class KafkaAccessException extends KafkaMlException {
    private static final long serialVersionUID = 1L;
    private static final Pattern USERNAME = Pattern.compile("username\\s*=\\s*\"([^\"]*)\"");

    /** What the broker refused. */
    public enum Kind {
        /** An ACL is missing: the principal may not perform the operation on the resource. */
        AUTHORIZATION,
        /** SASL authentication failed: wrong user name, password or mechanism. */
        AUTHENTICATION,
        /** The TLS handshake failed: the broker's certificate is not trusted, or does not name the host. */
        TLS
    }

    private final Kind kind;
    private final String principal;
    private final String resource;
    private final String operation;

    /**
     * @param principal the principal, e.g. {@code User:alice}
     * @param resource the resource, e.g. {@code topic 'in'}; {@code null} for an authentication or TLS failure
     * @param operation the ACL operation kafkaml needed, e.g. {@code WRITE}; {@code null} when not an authorization failure
     */
    public KafkaAccessException(
            Kind kind, String principal, String resource, String operation, String message, Throwable cause) {
        super(message, cause);
        this.kind = Objects.requireNonNull(kind, "kind");
        this.principal = principal;
        this.resource = resource;
        this.operation = operation;
    }

    /** What the broker refused. */
    public Kind kind() {
        return kind;
    }

    /** The principal kafkaml connected as, e.g. {@code User:alice} ({@code User:ANONYMOUS} without SASL). */
    public String principal() {
        return principal;
    }

    /** The resource the broker refused, e.g. {@code topic 'in'}; {@code null} unless {@link Kind#AUTHORIZATION}. */
    public String resource() {
        return resource;
    }

    /** The ACL operation kafkaml needed, e.g. {@code WRITE}; {@code null} unless {@link Kind#AUTHORIZATION}. */
    public String operation() {
        return operation;
    }

    /**
     * Finds a Kafka authorization, authentication or TLS failure in {@code error}'s cause chain (the error itself
     * included) and describes it in one line.
     *
     * @param clientConfig the client settings used ({@code sasl.jaas.config} names the user, {@code transactional.id},
     *     {@code bootstrap.servers})
     * @param topicOperation the ACL operation kafkaml needed on the topic(s) when the failure is a topic
     *     authorization failure ({@code READ}, {@code WRITE}, {@code DESCRIBE}, {@code CREATE}, ...); for a group the
     *     operation is {@code READ}, for a transactional id {@code WRITE}
     * @return the failure, or empty when {@code error} is none of these; an {@code error} that already is a
     *     {@code KafkaAccessException} is returned as it is
     */
    public static Optional<KafkaAccessException> find(
            Throwable error, Map<String, ?> clientConfig, String topicOperation) {
        Objects.requireNonNull(topicOperation, "topicOperation");
        return find(error, clientConfig, topic -> topicOperation);
    }

    /**
     * As {@link #find(Throwable, Map, String)}, with the operation kafkaml needed on each topic, by topic name
     * (an inference replica reads its input topic and writes its output topic).
     */
    public static Optional<KafkaAccessException> find(
            Throwable error, Map<String, ?> clientConfig, Function<String, String> topicOperation) {
        String principal = principal(clientConfig);
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof KafkaAccessException access) {
                return Optional.of(access);
            }
            if (t instanceof TopicAuthorizationException topics) {
                String names = topics.unauthorizedTopics().isEmpty()
                        ? "(the broker did not name which; its message: " + t.getMessage() + ")"
                        : topics.unauthorizedTopics().stream()
                                .sorted()
                                .map(n -> "'" + n + "'")
                                .collect(Collectors.joining(", "));
                String resource = (topics.unauthorizedTopics().size() == 1 ? "topic " : "topics ") + names;
                String operation = topics.unauthorizedTopics().stream()
                        .sorted()
                        .map(topicOperation)
                        .distinct()
                        .collect(Collectors.joining(" and "));
                return Optional.of(
                        denied(principal, resource, operation.isEmpty() ? topicOperation.apply("") : operation, t));
            }
            if (t instanceof GroupAuthorizationException group) {
                String id = group.groupId() != null ? group.groupId() : setting(clientConfig, "group.id");
                return Optional.of(denied(principal, "group '" + id + "'", "READ", t));
            }
            if (t instanceof TransactionalIdAuthorizationException) {
                return Optional.of(denied(
                        principal, "transactional id '" + setting(clientConfig, "transactional.id") + "'", "WRITE", t));
            }
            if (t instanceof ClusterAuthorizationException) {
                return Optional.of(denied(
                        principal,
                        "the cluster",
                        "the cluster operation the broker names (" + t.getMessage() + ")",
                        t));
            }
            if (t instanceof AuthorizationException) {
                return Optional.of(
                        denied(principal, "a resource (" + t.getMessage() + ")", topicOperation.apply(""), t));
            }
            if (t instanceof SslAuthenticationException) {
                return Optional.of(new KafkaAccessException(
                        Kind.TLS,
                        principal,
                        null,
                        null,
                        "TLS handshake with " + setting(clientConfig, "bootstrap.servers") + " failed: " + tlsReason(t),
                        t));
            }
            if (t instanceof SaslAuthenticationException || t instanceof AuthenticationException) {
                String mechanism = Optional.ofNullable(clientConfig.get("sasl.mechanism"))
                        .map(Object::toString)
                        .orElse("GSSAPI");
                return Optional.of(new KafkaAccessException(
                        Kind.AUTHENTICATION,
                        principal,
                        null,
                        null,
                        principal + " could not authenticate with " + mechanism + " at "
                                + setting(clientConfig, "bootstrap.servers") + ": " + oneLine(t.getMessage())
                                + " (check sasl.jaas.config and sasl.mechanism)",
                        t));
            }
        }
        return Optional.empty();
    }

    private static KafkaAccessException denied(String principal, String resource, String operation, Throwable t) {
        return new KafkaAccessException(
                Kind.AUTHORIZATION,
                principal,
                resource,
                operation,
                principal + " is not authorized to " + operation + " " + resource
                        + " (an ACL must allow it; see README 'Secure clusters')",
                t);
    }

    /** {@code User:<name>} from {@code sasl.jaas.config}; {@code User:ANONYMOUS} without SASL. */
    static String principal(Map<String, ?> clientConfig) {
        Object jaas = clientConfig.get("sasl.jaas.config");
        if (jaas != null) {
            Matcher matcher = USERNAME.matcher(jaas.toString());
            if (matcher.find()) {
                return "User:" + matcher.group(1);
            }
        }
        Object protocol = clientConfig.get("security.protocol");
        String name = protocol == null ? "PLAINTEXT" : protocol.toString();
        if (name.startsWith("SASL")) {
            return "the SASL principal of sasl.jaas.config";
        }
        return name.equalsIgnoreCase("SSL") ? "the principal of the client certificate" : "User:ANONYMOUS";
    }

    private static String tlsReason(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof CertPathBuilderException
                    || c instanceof CertPathValidatorException
                    || String.valueOf(c.getMessage()).contains("PKIX path")) {
                return "the broker's certificate is not signed by a certificate authority this client trusts "
                        + "(set ssl.truststore.location or ssl.truststore.certificates to the broker's CA)";
            }
            if (c instanceof CertificateException
                    && String.valueOf(c.getMessage()).contains("subject alternative")) {
                return "the broker's certificate does not name the host connected to (" + oneLine(c.getMessage())
                        + "; connect by a name in the certificate)";
            }
        }
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return oneLine(root.getMessage());
    }

    private static String setting(Map<String, ?> clientConfig, String key) {
        Object value = clientConfig.get(key);
        return value == null ? "(no " + key + ")" : value.toString();
    }

    private static String oneLine(String message) {
        return message == null ? "" : message.replaceAll("\\s*\\R\\s*", " ").strip();
    }
}
