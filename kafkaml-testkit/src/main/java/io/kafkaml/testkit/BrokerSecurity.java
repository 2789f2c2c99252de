package io.kafkaml.testkit;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;

/**
 * The security of an {@link EmbeddedKafkaBroker}: one {@code SASL_SSL} listener for clients that accepts
 * {@code SCRAM-SHA-512} and {@code PLAIN}, TLS with certificates generated when this object is built (a fresh
 * certificate authority and a broker certificate for {@code localhost}, its host name and {@code 127.0.0.1};
 * nothing is read from or written to disk), and Kafka's standard KRaft authorizer
 * ({@code org.apache.kafka.metadata.authorizer.StandardAuthorizer}) with one super user.
 *
 * <pre>{@code
 * BrokerSecurity security = BrokerSecurity.builder().plainUser("bob", "bob-secret").build();
 * try (EmbeddedKafkaBroker kafka = EmbeddedKafkaBroker.builder().security(security).build().start()) {
 *     kafka.createScramUser("alice", "alice-secret");          // through the Admin API
 *     kafka.allow("alice", ResourceType.TOPIC, "in", AclOperation.READ, AclOperation.DESCRIBE);
 *     Map<String, Object> alice = kafka.clientConfig("alice");   // SASL_SSL + SCRAM-SHA-512 + the CA
 * }
 * }</pre>
 *
 * <p>The client settings a user of such a cluster sets (see {@link #clientConfig(String, String, String)}):
 * {@code security.protocol=SASL_SSL}, {@code sasl.mechanism=SCRAM-SHA-512} (or {@code PLAIN}),
 * {@code sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="…"
 * password="…";} and a trust store holding the broker's CA (here {@code ssl.truststore.type=PEM} with
 * {@code ssl.truststore.certificates}). The super user (default {@code admin}) authenticates with {@code PLAIN};
 * the broker's own controller connection uses {@code SASL_PLAINTEXT} on loopback as that super user, so no
 * anonymous principal has any right. With no ACL on a resource everyone but the super user is denied
 * ({@code allow.everyone.if.no.acl.found=false}).
 *
 * <p><b>Thread safety</b>: immutable except for the table of users, which is thread-safe.
 */
public final class BrokerSecurity {

    /** The SASL mechanism {@code SCRAM-SHA-512}. */
    public static final String SCRAM_SHA_512 = "SCRAM-SHA-512";
    /** The SASL mechanism {@code PLAIN}. */
    public static final String PLAIN = "PLAIN";
    /** The name of the client listener (and of its security protocol). */
    public static final String LISTENER = "SASL_SSL";
    /** Kafka's standard authorizer for KRaft clusters. */
    public static final String STANDARD_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";

    private final String superUser;
    private final String superUserPassword;
    private final Map<String, String> plainUsers;
    private final Map<String, User> users = new ConcurrentHashMap<>();
    private final String caCertificatePem;
    private final String brokerCertificateChainPem;
    private final String brokerKeyPem;

    /** A user known to this object: name, password and SASL mechanism. */
    record User(String name, String password, String mechanism) {}

    private BrokerSecurity(Builder builder) {
        this.superUser = builder.superUser;
        this.superUserPassword = builder.superUserPassword;
        this.plainUsers = Map.copyOf(builder.plainUsers);
        users.put(superUser, new User(superUser, superUserPassword, PLAIN));
        plainUsers.forEach((name, password) -> users.put(name, new User(name, password, PLAIN)));
        try {
            KeyPair caKeys = newKeyPair();
            X509Certificate ca = caCertificate(caKeys);
            KeyPair brokerKeys = newKeyPair();
            X509Certificate broker = brokerCertificate(brokerKeys, ca, caKeys.getPrivate(), builder.hostNames);
            this.caCertificatePem = pem("CERTIFICATE", ca.getEncoded());
            this.brokerCertificateChainPem = pem("CERTIFICATE", broker.getEncoded()) + caCertificatePem;
            this.brokerKeyPem = pem("PRIVATE KEY", brokerKeys.getPrivate().getEncoded());
        } catch (GeneralSecurityException | OperatorCreationException | CertIOException e) {
            throw new EmbeddedKafkaException("Could not generate the test certificates: " + e, e);
        }
    }

    /** Returns a builder: super user {@code admin} with a random password, no other user. */
    public static Builder builder() {
        return new Builder();
    }

    /** The super user's name (it authenticates with {@code PLAIN}). */
    public String superUser() {
        return superUser;
    }

    /** The certificate authority that signed the broker's certificate, in PEM. */
    public String caCertificatePem() {
        return caCertificatePem;
    }

    /**
     * The settings a client needs to reach the {@code SASL_SSL} listener as {@code user} with
     * {@code password} and {@code mechanism} ({@link #SCRAM_SHA_512} or {@link #PLAIN}), trusting this
     * object's CA: {@code security.protocol}, {@code sasl.mechanism}, {@code sasl.jaas.config},
     * {@code ssl.truststore.type=PEM}, {@code ssl.truststore.certificates}. Without {@code bootstrap.servers}.
     */
    public Map<String, Object> clientConfig(String user, String password, String mechanism) {
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(password, "password");
        String loginModule = switch (mechanism) {
            case SCRAM_SHA_512 -> "org.apache.kafka.common.security.scram.ScramLoginModule";
            case PLAIN -> "org.apache.kafka.common.security.plain.PlainLoginModule";
            default ->
                throw new IllegalArgumentException(
                        "Unsupported SASL mechanism " + mechanism + " (use " + SCRAM_SHA_512 + " or " + PLAIN + ")");
        };
        Map<String, Object> config = new LinkedHashMap<>();
        config.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, LISTENER);
        config.put(SaslConfigs.SASL_MECHANISM, mechanism);
        config.put(SaslConfigs.SASL_JAAS_CONFIG, jaas(loginModule, user, password, Map.of()));
        config.put(SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG, "PEM");
        config.put(SslConfigs.SSL_TRUSTSTORE_CERTIFICATES_CONFIG, caCertificatePem);
        return config;
    }

    /**
     * The client settings of a user known to this object (the super user, a {@code PLAIN} user of the builder,
     * or a SCRAM user created through {@link EmbeddedKafkaBroker#createScramUser(String, String)}).
     *
     * @throws IllegalArgumentException if the user is unknown
     */
    public Map<String, Object> clientConfig(String user) {
        User known = users.get(user);
        if (known == null) {
            throw new IllegalArgumentException("Unknown user '" + user + "'; known: " + users.keySet());
        }
        return clientConfig(known.name(), known.password(), known.mechanism());
    }

    void remember(String user, String password, String mechanism) {
        users.put(user, new User(user, password, mechanism));
    }

    /** The broker properties for a client listener on {@code port} and a controller listener on {@code controllerPort}. */
    Map<String, String> brokerProperties(String host, int port, int controllerPort) {
        Map<String, String> props = new LinkedHashMap<>();
        props.put("listeners", LISTENER + "://" + host + ":" + port + ",CONTROLLER://" + host + ":" + controllerPort);
        props.put("advertised.listeners", LISTENER + "://" + host + ":" + port);
        props.put("listener.security.protocol.map", LISTENER + ":SASL_SSL,CONTROLLER:SASL_PLAINTEXT");
        props.put("inter.broker.listener.name", LISTENER);
        props.put("sasl.enabled.mechanisms", SCRAM_SHA_512 + "," + PLAIN);
        props.put("sasl.mechanism.inter.broker.protocol", PLAIN);
        props.put("sasl.mechanism.controller.protocol", PLAIN);
        Map<String, String> plain = new LinkedHashMap<>();
        plain.put(superUser, superUserPassword);
        plain.putAll(plainUsers);
        String plainJaas =
                jaas("org.apache.kafka.common.security.plain.PlainLoginModule", superUser, superUserPassword, plain);
        props.put("listener.name.sasl_ssl.plain.sasl.jaas.config", plainJaas);
        props.put(
                "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required;");
        props.put("listener.name.controller.sasl.enabled.mechanisms", PLAIN);
        props.put("listener.name.controller.plain.sasl.jaas.config", plainJaas);
        props.put("ssl.keystore.type", "PEM");
        props.put("ssl.keystore.certificate.chain", brokerCertificateChainPem);
        props.put("ssl.keystore.key", brokerKeyPem);
        props.put("ssl.truststore.type", "PEM");
        props.put("ssl.truststore.certificates", caCertificatePem);
        props.put("ssl.client.auth", "none");
        props.put("authorizer.class.name", STANDARD_AUTHORIZER);
        props.put("super.users", "User:" + superUser);
        props.put("allow.everyone.if.no.acl.found", "false");
        return props;
    }

    private static String jaas(String loginModule, String user, String password, Map<String, String> plainUsers) {
        StringBuilder jaas = new StringBuilder(loginModule)
                .append(" required username=\"")
                .append(escape(user))
                .append("\" password=\"")
                .append(escape(password))
                .append('"');
        plainUsers.forEach((name, secret) -> jaas.append(" user_")
                .append(name)
                .append("=\"")
                .append(escape(secret))
                .append('"'));
        return jaas.append(';').toString();
    }

    private static String escape(String value) {
        return value.replace("\\", "\\\\").replace("\"", "\\\"");
    }

    private static KeyPair newKeyPair() throws GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        return generator.generateKeyPair();
    }

    private static X509Certificate caCertificate(KeyPair keys)
            throws GeneralSecurityException, OperatorCreationException, CertIOException {
        X500Name name = new X500Name("CN=kafkaml-testkit CA " + serial().toString(16));
        X509v3CertificateBuilder builder =
                new JcaX509v3CertificateBuilder(name, serial(), notBefore(), notAfter(), name, keys.getPublic());
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        return sign(builder, keys.getPrivate());
    }

    private static X509Certificate brokerCertificate(
            KeyPair keys, X509Certificate ca, PrivateKey caKey, List<String> hostNames)
            throws GeneralSecurityException, OperatorCreationException, CertIOException {
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
                ca, serial(), notBefore(), notAfter(), new X500Name("CN=localhost"), keys.getPublic());
        List<GeneralName> names = new ArrayList<>();
        names.add(new GeneralName(GeneralName.dNSName, "localhost"));
        names.add(new GeneralName(GeneralName.iPAddress, "127.0.0.1"));
        for (String host : hostNames) {
            boolean ip = host.chars().allMatch(c -> Character.isDigit(c) || c == '.');
            names.add(new GeneralName(ip ? GeneralName.iPAddress : GeneralName.dNSName, host));
        }
        builder.addExtension(
                Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)));
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
        builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(new KeyPurposeId[] {
            KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth
        }));
        return sign(builder, caKey);
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey key)
            throws GeneralSecurityException, OperatorCreationException {
        var signer = new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withECDSA").build(key);
        return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
    }

    private static final SecureRandom RANDOM = new SecureRandom();

    private static BigInteger serial() {
        return new BigInteger(64, RANDOM).abs().add(BigInteger.ONE);
    }

    private static Date notBefore() {
        return Date.from(Instant.now().minus(Duration.ofDays(1)));
    }

    private static Date notAfter() {
        return Date.from(Instant.now().plus(Duration.ofDays(365)));
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                        .encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    private static String randomPassword() {
        byte[] bytes = new byte[18];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /** Builds a {@link BrokerSecurity}; every setting is optional. */
    public static final class Builder {
        private String superUser = "admin";
        private String superUserPassword = randomPassword();
        private final Map<String, String> plainUsers = new HashMap<>();
        private final List<String> hostNames = new ArrayList<>();

        private Builder() {
            try {
                hostNames.add(InetAddress.getLocalHost().getHostName());
            } catch (UnknownHostException e) {
                // only localhost and 127.0.0.1 in the certificate then
            }
        }

        /** The super user (authenticates with PLAIN); default {@code admin} with a random password. */
        public Builder superUser(String name, String password) {
            this.superUser = requireName(name);
            this.superUserPassword = Objects.requireNonNull(password, "password");
            return this;
        }

        /** A user that authenticates with {@code PLAIN} (PLAIN users live in the broker's JAAS settings). */
        public Builder plainUser(String name, String password) {
            plainUsers.put(requireName(name), Objects.requireNonNull(password, "password"));
            return this;
        }

        /** A further host name or IPv4 address the broker certificate is valid for. */
        public Builder hostName(String host) {
            hostNames.add(Objects.requireNonNull(host, "host"));
            return this;
        }

        /** Generates the certificates and returns the security settings. */
        public BrokerSecurity build() {
            return new BrokerSecurity(this);
        }

        private static String requireName(String name) {
            if (name == null || !name.matches("[A-Za-z0-9._-]+")) {
                throw new IllegalArgumentException("A user name is letters, digits, '.', '_' or '-', was " + name);
            }
            return name;
        }
    }
}
