package io.kafkaml.k8s;

import io.fabric8.kubernetes.api.model.Toleration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Where and how kafkaml's pods run on Kubernetes.
 *
 * <pre>{@code
 * KubernetesSettings settings = KubernetesSettings.builder("kafka.kafka:9092", "ghcr.io/acme/kafkaml-worker:0.1.0")
 *         .namespace("ml").clientSecret("kafkaml-client").resources("500m", "1Gi", "2", "4Gi").gpus(1).build();
 * }</pre>
 *
 * <p>Thread safety: immutable (a record; its collections are copied or unmodifiable) and thread-safe. Lifecycle: a
 * value, no resources.
 *
 * @param namespace the namespace of the Jobs and Deployments
 * @param bootstrapServers Kafka as the pods reach it
 * @param image the worker image ({@code kafkaml worker} as its entry point)
 * @param imagePullPolicy {@code IfNotPresent}, {@code Always} or {@code Never}
 * @param serviceAccount the pods' service account, or {@code null} for the namespace default
 * @param clientSecret a Secret whose keys ({@code KAFKAML_CLIENT_SECURITY_PROTOCOL}, {@code KAFKAML_CLIENT_SASL_JAAS_CONFIG},
 *     ...) become the pods' client settings through {@code envFrom}, or {@code null}; no credential is ever written
 *     into a pod spec
 * @param registryPrefix the registry's topic prefix
 * @param controlTopic the control topic training waits on
 * @param cpuRequest CPU request, or {@code null}
 * @param memoryRequest memory request, or {@code null}
 * @param cpuLimit CPU limit, or {@code null}
 * @param memoryLimit memory limit, or {@code null}
 * @param gpus {@code nvidia.com/gpu} per pod, 0 for none
 * @param nodeSelector node labels the pods need
 * @param tolerations taints the pods tolerate
 * @param backoffLimit retries of a failed training pod
 * @param ttlSecondsAfterFinished how long a finished Job is kept
 * @param settings kafkaml and Kafka client settings every pod gets, as in a {@code --config} file
 *     ({@code kafkaml.*}, {@code consumer.*}, {@code producer.*}, {@code admin.*}, plain client keys), passed as the
 *     {@code KAFKAML_*} variables that {@link io.kafkaml.config.KafkaMlConfig#environment} names; the settings the
 *     objects set themselves (the worker's role, ids, topics, the registry prefix, {@code bootstrap.servers}) win over
 *     these. Secrets ({@link io.kafkaml.config.KafkaMlConfig#isSecret}) are refused: they belong in
 *     {@code clientSecret}
 * @param trainingJvmOptions the JVM options of a training Job's pod, set as its {@code JDK_JAVA_OPTIONS} (which
 *     replaces an {@code ENV JDK_JAVA_OPTIONS} of the image, e.g. AppCDS options); {@code null} for the default
 *     {@link KubernetesManifests#TRAINING_JVM_OPTIONS} ({@code -XX:+UseParallelGC}); empty or blank for no
 *     {@code JDK_JAVA_OPTIONS} at all, so that the image's own stays. Give an empty value (or options without a
 *     collector) when the image's {@code JDK_JAVA_OPTIONS} or {@code JAVA_TOOL_OPTIONS} already selects a garbage
 *     collector: a JVM with two ({@code -XX:+UseG1GC} there and {@code -XX:+UseParallelGC} here) exits at start
 *     ("Multiple garbage collectors selected"). Inference Deployments never get it
 */
public record KubernetesSettings(
        String namespace,
        String bootstrapServers,
        String image,
        String imagePullPolicy,
        String serviceAccount,
        String clientSecret,
        String registryPrefix,
        String controlTopic,
        String cpuRequest,
        String memoryRequest,
        String cpuLimit,
        String memoryLimit,
        int gpus,
        Map<String, String> nodeSelector,
        List<Toleration> tolerations,
        int backoffLimit,
        int ttlSecondsAfterFinished,
        Map<String, String> settings,
        String trainingJvmOptions) {

    /**
     * Validates and copies.
     *
     * @throws IllegalArgumentException if a number is negative, or {@code settings} holds a secret or a key that
     *     cannot be passed as an environment variable (the message names the key)
     */
    public KubernetesSettings {
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(bootstrapServers, "bootstrapServers");
        Objects.requireNonNull(image, "image");
        nodeSelector = nodeSelector == null
                ? Map.of()
                : java.util.Collections.unmodifiableMap(
                        new java.util.TreeMap<>(nodeSelector)); // a stable order for YAML
        tolerations = tolerations == null ? List.of() : List.copyOf(tolerations);
        if (gpus < 0 || backoffLimit < 0 || ttlSecondsAfterFinished < 0) {
            throw new IllegalArgumentException("gpus, backoffLimit and ttlSecondsAfterFinished must be >= 0");
        }
        Map<String, String> copy = new java.util.LinkedHashMap<>();
        if (settings != null) {
            new java.util.TreeMap<>(settings).forEach((key, value) -> {
                if (io.kafkaml.config.KafkaMlConfig.isSecret(key)) {
                    throw new IllegalArgumentException("The setting '" + key + "' is a secret: pods get it only from "
                            + "the Secret named by clientSecret (as "
                            + io.kafkaml.config.KafkaMlConfig.environment(Map.of(key, "x"))
                                    .keySet()
                                    .iterator()
                                    .next()
                            + "), never from a pod spec");
                }
                io.kafkaml.config.KafkaMlConfig.environment(Map.of(key, String.valueOf(value)));
                copy.put(key, String.valueOf(value));
            });
        }
        settings = java.util.Collections.unmodifiableMap(copy); // sorted: a stable order for YAML
        trainingJvmOptions = trainingJvmOptions == null
                ? KubernetesManifests.TRAINING_JVM_OPTIONS
                : trainingJvmOptions.strip(); // "" = no JDK_JAVA_OPTIONS
    }

    /**
     * Settings with the default {@link #trainingJvmOptions()} ({@link KubernetesManifests#TRAINING_JVM_OPTIONS}), as
     * before 0.2's {@code trainingJvmOptions}.
     */
    public KubernetesSettings(
            String namespace,
            String bootstrapServers,
            String image,
            String imagePullPolicy,
            String serviceAccount,
            String clientSecret,
            String registryPrefix,
            String controlTopic,
            String cpuRequest,
            String memoryRequest,
            String cpuLimit,
            String memoryLimit,
            int gpus,
            Map<String, String> nodeSelector,
            List<Toleration> tolerations,
            int backoffLimit,
            int ttlSecondsAfterFinished,
            Map<String, String> settings) {
        this(
                namespace,
                bootstrapServers,
                image,
                imagePullPolicy,
                serviceAccount,
                clientSecret,
                registryPrefix,
                controlTopic,
                cpuRequest,
                memoryRequest,
                cpuLimit,
                memoryLimit,
                gpus,
                nodeSelector,
                tolerations,
                backoffLimit,
                ttlSecondsAfterFinished,
                settings,
                null);
    }

    /** Settings without {@link #settings()} (as before 0.2). */
    public KubernetesSettings(
            String namespace,
            String bootstrapServers,
            String image,
            String imagePullPolicy,
            String serviceAccount,
            String clientSecret,
            String registryPrefix,
            String controlTopic,
            String cpuRequest,
            String memoryRequest,
            String cpuLimit,
            String memoryLimit,
            int gpus,
            Map<String, String> nodeSelector,
            List<Toleration> tolerations,
            int backoffLimit,
            int ttlSecondsAfterFinished) {
        this(
                namespace,
                bootstrapServers,
                image,
                imagePullPolicy,
                serviceAccount,
                clientSecret,
                registryPrefix,
                controlTopic,
                cpuRequest,
                memoryRequest,
                cpuLimit,
                memoryLimit,
                gpus,
                nodeSelector,
                tolerations,
                backoffLimit,
                ttlSecondsAfterFinished,
                Map.of());
    }

    /** A builder; the brokers and the image are required. */
    public static Builder builder(String bootstrapServers, String image) {
        return new Builder(bootstrapServers, image);
    }

    /** Builds {@link KubernetesSettings}. */
    public static final class Builder {
        private final String bootstrapServers;
        private final String image;
        private String namespace = "default";
        private String imagePullPolicy = "IfNotPresent";
        private String serviceAccount = "kafkaml";
        private String clientSecret;
        private String registryPrefix = "kafkaml";
        private String controlTopic = "KAFKA_ML_CONTROL_TOPIC";
        private String cpuRequest;
        private String memoryRequest;
        private String cpuLimit;
        private String memoryLimit;
        private int gpus;
        private Map<String, String> nodeSelector = Map.of();
        private List<Toleration> tolerations = List.of();
        private int backoffLimit = 3;
        private int ttlSecondsAfterFinished = 3600;
        private Map<String, String> settings = Map.of();
        private String trainingJvmOptions = KubernetesManifests.TRAINING_JVM_OPTIONS;

        private Builder(String bootstrapServers, String image) {
            this.bootstrapServers = bootstrapServers;
            this.image = image;
        }

        /** Default {@code default}. */
        public Builder namespace(String namespace) {
            this.namespace = namespace;
            return this;
        }

        /** Default {@code IfNotPresent}. */
        public Builder imagePullPolicy(String policy) {
            this.imagePullPolicy = policy;
            return this;
        }

        /** Default {@code kafkaml} (as {@link KubernetesManifests#rbac} creates it); {@code null} for the default. */
        public Builder serviceAccount(String serviceAccount) {
            this.serviceAccount = serviceAccount;
            return this;
        }

        /** A Secret with KAFKAML_CLIENT_* keys for SASL/TLS; default none. */
        public Builder clientSecret(String secret) {
            this.clientSecret = secret;
            return this;
        }

        /** Default {@code kafkaml}. */
        public Builder registryPrefix(String prefix) {
            this.registryPrefix = prefix;
            return this;
        }

        /** Default {@code KAFKA_ML_CONTROL_TOPIC}. */
        public Builder controlTopic(String topic) {
            this.controlTopic = topic;
            return this;
        }

        /** Requests and limits ({@code null} leaves one out). */
        public Builder resources(String cpuRequest, String memoryRequest, String cpuLimit, String memoryLimit) {
            this.cpuRequest = cpuRequest;
            this.memoryRequest = memoryRequest;
            this.cpuLimit = cpuLimit;
            this.memoryLimit = memoryLimit;
            return this;
        }

        /** GPUs ({@code nvidia.com/gpu}) per pod; default 0. */
        public Builder gpus(int gpus) {
            this.gpus = gpus;
            return this;
        }

        /** Node labels the pods need. */
        public Builder nodeSelector(Map<String, String> selector) {
            this.nodeSelector = selector;
            return this;
        }

        /** Taints the pods tolerate. */
        public Builder tolerations(List<Toleration> tolerations) {
            this.tolerations = tolerations;
            return this;
        }

        /** Retries of a failed training pod; default 3. */
        public Builder backoffLimit(int limit) {
            this.backoffLimit = limit;
            return this;
        }

        /** Seconds a finished Job is kept; default 3600. */
        public Builder ttlSecondsAfterFinished(int seconds) {
            this.ttlSecondsAfterFinished = seconds;
            return this;
        }

        /**
         * kafkaml and Kafka client settings for every pod (see {@link KubernetesSettings#settings()}); {@code null}
         * values are left out; default none.
         */
        public Builder settings(Map<String, ?> settings) {
            Map<String, String> copy = new java.util.LinkedHashMap<>();
            settings.forEach((key, value) -> {
                if (value != null) {
                    copy.put(
                            key,
                            io.kafkaml.config.KafkaMlConfig.environment(Map.of(key, value))
                                    .values()
                                    .iterator()
                                    .next());
                }
            });
            this.settings = copy;
            return this;
        }

        /**
         * The training Jobs' {@code JDK_JAVA_OPTIONS} (see {@link KubernetesSettings#trainingJvmOptions()}); default
         * {@code -XX:+UseParallelGC}; {@code ""} for none (the image's own {@code JDK_JAVA_OPTIONS} stays), e.g. when
         * the image already selects a garbage collector.
         */
        public Builder trainingJvmOptions(String options) {
            this.trainingJvmOptions = options;
            return this;
        }

        /** Validates and returns the settings. */
        public KubernetesSettings build() {
            return new KubernetesSettings(
                    namespace,
                    bootstrapServers,
                    image,
                    imagePullPolicy,
                    serviceAccount,
                    clientSecret,
                    registryPrefix,
                    controlTopic,
                    cpuRequest,
                    memoryRequest,
                    cpuLimit,
                    memoryLimit,
                    gpus,
                    nodeSelector,
                    tolerations,
                    backoffLimit,
                    ttlSecondsAfterFinished,
                    settings,
                    trainingJvmOptions);
        }
    }
}
