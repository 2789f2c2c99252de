package io.kafkaml.k8s;

import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.kafkaml.inference.InferenceConfig;
import io.kafkaml.inference.InferenceException;
import io.kafkaml.inference.InferenceLiveness;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.registry.Inference;
import io.kafkaml.registry.Registry;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An inference deployment run as a Kubernetes Deployment ({@link KubernetesManifests#inferenceDeployment}): one
 * pod per replica, each running {@code kafkaml worker} as one consumer of the group. Scaling patches the replica
 * count; stopping deletes the Deployment and its pods.
 *
 * <h2>The registry record</h2>
 * It is recorded in the registry like a local one, before the Deployment is created, with
 * {@link Inference#supervisedBy()} {@value Inference#SUPERVISED_BY_KUBERNETES} and this launcher
 * ({@code kubernetes:<namespace>/<Deployment name>#<random>}, one per handle, also in the Deployment's
 * {@code kafkaml.io/owner} annotation) as {@link Inference#owner()}, in a new
 * {@link Inference#generation()}: the pods ({@code kafkaml worker}, a {@code LocalInference} each) join it, never
 * take it over (a time with no pod, e.g. an image pull or CrashLoopBackOff, is Kubernetes' to cure) and never write
 * it; only this handle's {@link #scale} and {@link #stop} do, and only while the record is still its own.
 *
 * <h2>Starting over an existing record</h2>
 * {@link #start} is refused, with a one-line {@link InferenceException} and nothing written or created, when the
 * Deployment already exists in the namespace, or when the id is RUNNING and served
 * ({@link InferenceLiveness#alive}: a consumer of its group, or the heartbeat of a live local owner, seen within a
 * lease). A RUNNING record that nothing serves (its consumer group stayed empty for a whole lease and, for a
 * Kubernetes record, its Deployment is gone, e.g. deleted with {@code kubectl}; that Deployment is looked up in the
 * namespace of the launcher that owns the record, named in its owner token; a record scaled to 0 is alive while its
 * Deployment exists and, once that is gone, judged by its group) is taken over in the next generation. Two launchers starting one id at once claim the same generation: the first claim wins, the other is
 * refused before it creates anything. If the Deployment cannot be created (RBAC, quota, admission), the record is
 * ended FAILED with the API server's reason and the exception is thrown; an answer that leaves it unknown (a
 * timeout, a 5xx) is checked by reading the Deployment back: one carrying this handle's owner annotation runs: no record says RUNNING for a Deployment that does not exist.
 * The lease is three {@value io.kafkaml.config.KafkaMlConfig#INFERENCE_HEARTBEAT_INTERVAL_MS_CONFIG} (from
 * {@link KubernetesSettings#settings()}, default 30 s), or the record's own lease if longer.
 *
 * <p>Thread-safe.
 */
public final class KubernetesInference {

    private static final Logger log = LoggerFactory.getLogger(KubernetesInference.class);
    /** Annotation on the Deployment: the owner token of the handle that created it. */
    static final String OWNER_ANNOTATION = "kafkaml.io/owner";
    /** Annotation on the Deployment: the record generation it was created for. */
    static final String GENERATION_ANNOTATION = "kafkaml.io/generation";
    /** How long {@link #stop} waits for the Deployment's pods to stop and the Deployment to be gone. */
    static final Duration DELETION_WAIT = Duration.ofSeconds(90);

    private final KubernetesClient client;
    private final KubernetesManifests manifests;
    private final Registry registry;
    private final String id;
    private final String name;
    private final String owner;
    private final long generation;

    private KubernetesInference(
            KubernetesClient client,
            KubernetesManifests manifests,
            Registry registry,
            String id,
            String name,
            String owner,
            long generation) {
        this.client = client;
        this.manifests = manifests;
        this.registry = registry;
        this.id = id;
        this.name = name;
        this.owner = owner;
        this.generation = generation;
    }

    /**
     * Records the inference deployment in a new generation, then creates its Deployment.
     *
     * @throws InferenceException if the Deployment exists already, if {@code id} is RUNNING and served (the message
     *     says by whom), if another process recorded the id at the same time, or if the Deployment could not be
     *     created (the record is then FAILED with the reason); may wait up to a lease to judge a RUNNING record
     *     that shows no sign of life
     */
    public static KubernetesInference start(
            KubernetesClient client, KubernetesSettings settings, Registry registry, String id, InferenceSpec spec) {
        return start(
                client,
                settings,
                registry,
                id,
                spec,
                InferenceConfig.heartbeatInterval(settings.settings()).multipliedBy(3));
    }

    /** {@link #start} judging a silent RUNNING record for {@code lease} (or the record's lease if longer). */
    static KubernetesInference start(
            KubernetesClient client,
            KubernetesSettings settings,
            Registry registry,
            String id,
            InferenceSpec spec,
            Duration lease) {
        Objects.requireNonNull(client, "client");
        KubernetesManifests manifests = new KubernetesManifests(settings);
        Deployment deployment = manifests.inferenceDeployment(id, spec);
        String namespace = settings.namespace();
        String name = deployment.getMetadata().getName();
        // one owner token per handle: two launchers starting the same id at once claim the same generation, and
        // only the first claim's owner may write it, so the loser never touches the API server
        String owner =
                ownerOf(namespace, name) + "#" + UUID.randomUUID().toString().substring(0, 8);
        refuseIfPresent(client, namespace, name, id);
        Optional<Inference> existing = registry.inference(id);
        if (existing.isPresent() && "RUNNING".equals(existing.get().status())) {
            Inference running = existing.get();
            Duration patience = lease.compareTo(Duration.ofMillis(running.leaseMs())) >= 0
                    ? lease
                    : Duration.ofMillis(running.leaseMs());
            Optional<String[]> supervising = deploymentOf(running);
            Inference judged = running;
            if (supervising.isPresent()) {
                // the Deployment of the launcher that owns the record, in its namespace (maybe not this launcher's)
                refuseIfPresent(client, supervising.get()[0], supervising.get()[1], id);
                if (running.replicas() == 0) {
                    // scaled to 0 on purpose is alive while its Deployment exists; gone, it is judged by its group
                    judged = running.with("RUNNING", 1, null);
                }
            }
            if (InferenceLiveness.alive(registry, judged, patience)) {
                throw new InferenceException("Inference deployment '" + id + "' is RUNNING result "
                        + running.resultId() + " (owner " + running.owner() + ", generation " + running.generation()
                        + (running.supervisedBy() == null ? "" : ", supervised by " + running.supervisedBy())
                        + ") and is served; stop it first or choose another id");
            }
            log.warn(
                    "[{}] Taking over the inference deployment: it is recorded RUNNING (owner {}, generation {}) but "
                            + "nothing serves it (no consumer in group {} for {} ms, no Deployment {}/{})",
                    id,
                    running.owner(),
                    running.generation(),
                    running.groupId(),
                    patience.toMillis(),
                    namespace,
                    name);
        }
        long generation = registry.inferenceGeneration(id) + 1;
        refuseIfPresent(client, namespace, name, id); // again, after a wait of up to a lease
        Map<String, String> annotations = new HashMap<>(
                Optional.ofNullable(deployment.getMetadata().getAnnotations()).orElse(Map.of()));
        annotations.put(OWNER_ANNOTATION, owner);
        annotations.put(GENERATION_ANNOTATION, Long.toString(generation));
        deployment.getMetadata().setAnnotations(annotations);
        Instant now = Instant.now();
        Inference record = new Inference(
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
                Inference.SUPERVISED_BY_KUBERNETES);
        // recorded first, supervised: the pods always find the record, join it and never take it over or end it
        if (!registry.putInference(record)) {
            throw new InferenceException("Inference deployment '" + id + "' was recorded by another process at the "
                    + "same time; not started");
        }
        try {
            client.apps()
                    .deployments()
                    .inNamespace(namespace)
                    .resource(deployment)
                    .create();
        } catch (KubernetesClientException e) {
            // a timeout, a reset connection or a 5xx may come after the API server stored the object: look before
            // recording FAILED for a Deployment that exists
            Deployment stored = null;
            try {
                stored = client.apps()
                        .deployments()
                        .inNamespace(namespace)
                        .withName(name)
                        .get();
            } catch (KubernetesClientException lookup) {
                log.warn("[{}] Could not read back Deployment {}/{}: {}", id, namespace, name, describe(lookup));
            }
            if (stored != null
                    && stored.getMetadata().getAnnotations() != null
                    && owner.equals(stored.getMetadata().getAnnotations().get(OWNER_ANNOTATION))) {
                log.warn(
                        "[{}] Creating Deployment {}/{} answered {}, but it was stored; running",
                        id,
                        namespace,
                        name,
                        describe(e));
                return new KubernetesInference(client, manifests, registry, id, name, owner, generation);
            }
            String reason = stored != null || e.getCode() == 409
                    ? "its Kubernetes Deployment " + namespace + "/" + name + " was created by someone else meanwhile "
                            + "(not by this launcher; " + (stored == null ? "HTTP 409" : ready(stored)) + ")"
                    : "its Kubernetes Deployment " + namespace + "/" + name + " could not be created: " + describe(e);
            if (!registry.putInference(record.with("FAILED", 0, reason))) {
                log.warn("[{}] The registry refused the FAILED status (another process wrote the record)", id);
            }
            throw new InferenceException("Inference deployment '" + id + "' FAILED: " + reason, e);
        }
        return new KubernetesInference(client, manifests, registry, id, name, owner, generation);
    }

    /** The Kubernetes Deployment's name. */
    public String name() {
        return name;
    }

    /** The generation of the record this handle owns. */
    public long generation() {
        return generation;
    }

    /**
     * Patches the replica count and records it.
     *
     * @throws InferenceException if the record is no longer this handle's (another launcher or process took the id
     *     over, or it was stopped or failed): the Deployment is then left as it is; or if the API server refuses the
     *     edit or the Deployment is gone (the record is left as it was)
     */
    public synchronized void scale(int replicas) {
        if (replicas < 0) {
            throw new IllegalArgumentException("replicas must be >= 0, was " + replicas);
        }
        Inference mine = own("scaled");
        String namespace = manifests.settings().namespace();
        try {
            client.apps().deployments().inNamespace(namespace).withName(name).edit(d -> {
                d.getSpec().setReplicas(replicas);
                return d;
            });
        } catch (KubernetesClientException e) {
            throw new InferenceException(
                    "Inference deployment '" + id + "' could not be scaled to " + replicas + ": "
                            + (e.getCode() == 404
                                    ? "its Kubernetes Deployment " + namespace + "/" + name + " is gone (deleted "
                                            + "outside kafkaml?); stop it to record STOPPED, or start it again"
                                    : "the API server refused to edit Deployment " + namespace + "/" + name + ": "
                                            + describe(e)),
                    e);
        }
        if (!registry.putInference(mine.with("RUNNING", replicas, null))) {
            throw new InferenceException("Inference deployment '" + id + "': the Deployment was scaled to " + replicas
                    + " but the registry refused the record: " + describeRecord(registry.inference(id)));
        }
    }

    /**
     * Deletes the Deployment (its pods stop with SIGTERM: batch finished and committed), waits until it is gone (up
     * to 90 s, so that the same id can be started again at once) and records STOPPED. Stopping a deployment this
     * handle already ended only deletes what is left of the Deployment.
     *
     * @throws InferenceException if the record belongs to another owner or generation (the Deployment is then left
     *     as it is: it may serve the new owner), or if the API server refuses the deletion (the record stays RUNNING)
     */
    public synchronized void stop() {
        Optional<Inference> current = registry.inference(id);
        boolean mine = current.isPresent()
                && Objects.equals(current.get().owner(), owner)
                && current.get().generation() == generation;
        if (!mine) {
            throw new InferenceException("Inference deployment '" + id + "' is no longer this launcher's (now "
                    + describeRecord(current) + "); its Deployment was not deleted");
        }
        String namespace = manifests.settings().namespace();
        try {
            client.apps()
                    .deployments()
                    .inNamespace(namespace)
                    .withName(name)
                    .withPropagationPolicy(DeletionPropagation.FOREGROUND)
                    .delete();
        } catch (KubernetesClientException e) {
            throw new InferenceException(
                    "Inference deployment '" + id + "': the API server refused to delete Deployment " + namespace + "/"
                            + name + ": " + describe(e) + "; the record was left RUNNING",
                    e);
        }
        awaitDeleted(namespace);
        if (!current.get().isTerminal() && !registry.putInference(current.get().with("STOPPED", 0, null))) {
            throw new InferenceException("Inference deployment '" + id + "': the Deployment was deleted but the "
                    + "registry refused STOPPED: " + describeRecord(registry.inference(id)));
        }
    }

    /**
     * Waits (up to {@link #DELETION_WAIT}) until the Deployment is gone: with foreground deletion it stays, marked for
     * deletion, until its pods have stopped (each finishes and commits its batch), and a {@link #start} of the same id
     * is refused while it is there. A wait that runs out is only logged: the deletion goes on in the cluster.
     */
    private void awaitDeleted(String namespace) {
        try {
            client.apps()
                    .deployments()
                    .inNamespace(namespace)
                    .withName(name)
                    .waitUntilCondition(java.util.Objects::isNull, DELETION_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (KubernetesClientException e) {
            log.warn(
                    "[{}] Deployment {}/{} is still being deleted after {} s (its pods are stopping); a start of the "
                            + "same id is refused until it is gone: {}",
                    id,
                    namespace,
                    name,
                    DELETION_WAIT.toSeconds(),
                    describe(e));
        }
    }

    /**
     * The namespace and name of the Deployment of the Kubernetes launcher that owns {@code record}, from its owner
     * token {@code kubernetes:<namespace>/<name>#<random>}; empty for a record no Kubernetes launcher owns.
     */
    static Optional<String[]> deploymentOf(Inference record) {
        String owner = record.owner();
        if (!Inference.SUPERVISED_BY_KUBERNETES.equals(record.supervisedBy())
                || owner == null
                || !owner.startsWith("kubernetes:")) {
            return Optional.empty();
        }
        String rest = owner.substring("kubernetes:".length());
        int hash = rest.indexOf('#');
        String path = hash < 0 ? rest : rest.substring(0, hash);
        int slash = path.indexOf('/');
        if (slash <= 0 || slash == path.length() - 1) {
            return Optional.empty();
        }
        return Optional.of(new String[] {path.substring(0, slash), path.substring(slash + 1)});
    }

    /** The record, if it is still this handle's and RUNNING. */
    private Inference own(String action) {
        Optional<Inference> current = registry.inference(id);
        if (current.isEmpty()
                || !Objects.equals(current.get().owner(), owner)
                || current.get().generation() != generation
                || !"RUNNING".equals(current.get().status())) {
            throw new InferenceException("Inference deployment '" + id + "' cannot be " + action + " by this launcher"
                    + " (owner " + owner + ", generation " + generation + "): it is now " + describeRecord(current));
        }
        return current.get();
    }

    /** Refuses, in one line, when the Deployment exists. */
    private static void refuseIfPresent(KubernetesClient client, String namespace, String name, String id) {
        Deployment present = client.apps()
                .deployments()
                .inNamespace(namespace)
                .withName(name)
                .get();
        if (present != null) {
            Map<String, String> labels = present.getMetadata().getLabels();
            String serves = labels == null ? null : labels.get("kafkaml.io/deployment-id");
            throw new InferenceException("Inference deployment '" + id + "': its Kubernetes Deployment " + namespace
                    + "/" + name + " exists already (" + ready(present)
                    + (present.getMetadata().getDeletionTimestamp() != null ? ", being deleted" : "")
                    + (serves != null && !serves.equals(id) ? ", serving id '" + serves + "'" : "")
                    + "); scale or stop it, or delete it first");
        }
    }

    /**
     * The owner prefix of the records a launcher writes for a Deployment; each handle appends {@code #<random>}, so
     * a record's owner starts with it.
     */
    static String ownerOf(String namespace, String deploymentName) {
        return "kubernetes:" + namespace + "/" + deploymentName;
    }

    private static String describeRecord(Optional<Inference> record) {
        return record.map(r -> r.status() + ", owner " + r.owner() + ", generation " + r.generation()
                        + (r.error() == null ? "" : ": " + r.error()))
                .orElse("not recorded");
    }

    private static String ready(Deployment deployment) {
        Integer ready =
                deployment.getStatus() == null ? null : deployment.getStatus().getReadyReplicas();
        Integer wanted =
                deployment.getSpec() == null ? null : deployment.getSpec().getReplicas();
        return (ready == null ? 0 : ready) + "/" + (wanted == null ? "?" : wanted) + " replicas ready";
    }

    private static String describe(KubernetesClientException e) {
        String message = e.getStatus() != null && e.getStatus().getMessage() != null
                ? e.getStatus().getMessage()
                : e.getMessage();
        return (e.getCode() > 0 ? "HTTP " + e.getCode() + " " : "") + message;
    }
}
