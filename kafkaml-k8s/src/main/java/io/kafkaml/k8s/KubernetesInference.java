package io.kafkaml.k8s;

import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.registry.Inference;
import io.kafkaml.registry.Registry;
import java.time.Instant;
import java.util.Objects;

/**
 * An inference deployment run as a Kubernetes Deployment ({@link KubernetesManifests#inferenceDeployment}): one
 * pod per replica, each running {@code kafkaml worker} as one consumer of the group. Scaling patches the replica
 * count; stopping deletes the Deployment and its pods. It is recorded in the registry like a local one, before the
 * Deployment is created, with {@link Inference#supervisedBy()} {@value Inference#SUPERVISED_BY_KUBERNETES} and this
 * launcher as {@link Inference#owner()}: the pods ({@code kafkaml worker}, a {@code LocalInference} each) join it,
 * never take it over (a time with no pod, e.g. an image pull or CrashLoopBackOff, is Kubernetes' to cure) and never
 * write it; only {@link #scale} and {@link #stop} do.
 *
 * <p>Thread-safe.
 */
public final class KubernetesInference {

    private final KubernetesClient client;
    private final KubernetesManifests manifests;
    private final Registry registry;
    private final String id;
    private final String name;

    private KubernetesInference(
            KubernetesClient client, KubernetesManifests manifests, Registry registry, String id, String name) {
        this.client = client;
        this.manifests = manifests;
        this.registry = registry;
        this.id = id;
        this.name = name;
    }

    /** Creates the Deployment and records it. */
    public static KubernetesInference start(
            KubernetesClient client, KubernetesSettings settings, Registry registry, String id, InferenceSpec spec) {
        KubernetesManifests manifests = new KubernetesManifests(settings);
        Deployment deployment = manifests.inferenceDeployment(id, spec);
        // recorded first, supervised: the pods always find the record, join it and never take it over or end it
        Instant now = Instant.now();
        long generation = registry.inference(id).map(Inference::generation).orElse(0L) + 1;
        String owner = "kubernetes:" + settings.namespace() + "/"
                + deployment.getMetadata().getName();
        if (!registry.putInference(new Inference(
                id,
                spec.resultId(),
                spec.inputTopic(),
                spec.outputTopic(),
                spec.replicas(),
                "RUNNING",
                null,
                spec.toMap(),
                now,
                now,
                0,
                null,
                0,
                owner,
                generation,
                Inference.SUPERVISED_BY_KUBERNETES))) {
            throw new io.kafkaml.inference.InferenceException("Inference deployment '" + id + "' was recorded by "
                    + "another process at the same time; not started");
        }
        client.apps()
                .deployments()
                .inNamespace(settings.namespace())
                .resource(deployment)
                .create();
        return new KubernetesInference(
                Objects.requireNonNull(client),
                manifests,
                registry,
                id,
                deployment.getMetadata().getName());
    }

    /** The Kubernetes Deployment's name. */
    public String name() {
        return name;
    }

    /** Patches the replica count. */
    public void scale(int replicas) {
        client.apps()
                .deployments()
                .inNamespace(manifests.settings().namespace())
                .withName(name)
                .edit(d -> {
                    d.getSpec().setReplicas(replicas);
                    return d;
                });
        registry.inference(id).ifPresent(i -> registry.putInference(i.with("RUNNING", replicas, null)));
    }

    /** Deletes the Deployment (its pods stop with SIGTERM: batch finished and committed). */
    public void stop() {
        client.apps()
                .deployments()
                .inNamespace(manifests.settings().namespace())
                .withName(name)
                .withPropagationPolicy(DeletionPropagation.FOREGROUND)
                .delete();
        registry.inference(id).ifPresent(i -> registry.putInference(i.with("STOPPED", 0, null)));
    }
}
