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
        int ttlSecondsAfterFinished) {

    /** Validates and copies. */
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
                    ttlSecondsAfterFinished);
        }
    }
}
