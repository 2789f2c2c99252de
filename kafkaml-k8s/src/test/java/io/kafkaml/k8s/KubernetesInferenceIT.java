package io.kafkaml.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.kafkaml.inference.InferenceException;
import io.kafkaml.inference.InferenceLiveness;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.registry.Inference;
import io.kafkaml.registry.Registry;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Who may write an inference deployment's record when it runs on Kubernetes: {@link KubernetesInference} against
 * fabric8's mock API server (CRUD mode, and expectations mode for an API server that refuses) with a real registry.
 */
@EnableKubernetesMockClient(crud = true)
@ExtendWith(EmbeddedKafkaExtension.class)
class KubernetesInferenceIT {

    private static final Duration LEASE = Duration.ofSeconds(1);

    KubernetesClient client;

    static InferenceSpec spec(String result) {
        return InferenceSpec.builder(result, "in", "out").replicas(2).build();
    }

    static Inference localOwner(String id, String result, long leaseMs) {
        Instant now = Instant.now();
        return new Inference(
                id,
                result,
                "in",
                "out",
                1,
                "RUNNING",
                null,
                Map.of(),
                now,
                now,
                0,
                now,
                leaseMs,
                "host-1-abc",
                1,
                null);
    }

    private Registry registry(EmbeddedKafkaBroker kafka, String prefix) {
        return Registry.connect(kafka.clientConfig(), prefix, Duration.ofSeconds(30));
    }

    private boolean deploymentExists(String name) {
        return client.apps().deployments().inNamespace("ml").withName(name).get() != null;
    }

    @Test
    void aLiveLocalOwnerIsRefusedInOneLineAndNothingIsWrittenOrCreated(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("in", 1);
        try (Registry registry = registry(kafka, "k8s-live");
                KafkaConsumer<byte[], byte[]> member = member(kafka, "kafkaml-inference-served")) {
            Inference local = localOwner("served", "7.m", 30_000);
            assertThat(registry.putInference(local)).isTrue();
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> {
                member.poll(Duration.ofMillis(100));
                return !member.assignment().isEmpty();
            });

            assertThatThrownBy(() -> KubernetesInference.start(
                            client, KubernetesIT.settings(), registry, "served", spec("7.m"), LEASE))
                    .isInstanceOf(InferenceException.class)
                    .hasMessage("Inference deployment 'served' is RUNNING result 7.m (owner host-1-abc, generation 1)"
                            + " and is served; stop it first or choose another id");
            assertThat(registry.inference("served").orElseThrow()).isEqualTo(local);
            assertThat(deploymentExists("kafkaml-infer-served")).isFalse();
        }
    }

    @Test
    void aSecondLaunchIsRefusedBeforeWritingAndTheFirstHandleKeepsItsRecord(EmbeddedKafkaBroker kafka) {
        try (Registry registry = registry(kafka, "k8s-twice")) {
            KubernetesInference first =
                    KubernetesInference.start(client, KubernetesIT.settings(), registry, "twice", spec("7.m"), LEASE);
            Inference recorded = registry.inference("twice").orElseThrow();
            assertThat(recorded.generation()).isEqualTo(1);

            assertThatThrownBy(() -> KubernetesInference.start(
                            client, KubernetesIT.settings(), registry, "twice", spec("7.m"), LEASE))
                    .isInstanceOf(InferenceException.class)
                    .hasMessageStartingWith("Inference deployment 'twice': its Kubernetes Deployment "
                            + "ml/kafkaml-infer-twice exists already (0/2 replicas ready)");
            assertThat(registry.inference("twice").orElseThrow()).isEqualTo(recorded);

            first.scale(3);
            assertThat(registry.inference("twice").orElseThrow().replicas()).isEqualTo(3);
            first.stop();
            assertThat(registry.inference("twice").orElseThrow().status()).isEqualTo("STOPPED");
            assertThat(deploymentExists("kafkaml-infer-twice")).isFalse();
        }
    }

    @Test
    void aRecordWhoseDeploymentIsGoneAndWhoseGroupStaysEmptyIsTakenOverAndTheOldHandleLosesControl(
            EmbeddedKafkaBroker kafka) {
        try (Registry registry = registry(kafka, "k8s-stale")) {
            KubernetesInference old =
                    KubernetesInference.start(client, KubernetesIT.settings(), registry, "gone", spec("7.m"), LEASE);
            // deleted behind kafkaml's back (kubectl delete): the record still says RUNNING, no pod consumes
            client.apps().deployments().inNamespace("ml").withName(old.name()).delete();
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !deploymentExists(old.name()));
            Inference stale = registry.inference("gone").orElseThrow();
            assertThat(InferenceLiveness.alive(registry, stale, LEASE))
                    .as("supervised, no consumer for a lease: not alive")
                    .isFalse();

            KubernetesInference next =
                    KubernetesInference.start(client, KubernetesIT.settings(), registry, "gone", spec("7.m"), LEASE);
            assertThat(next.generation()).isEqualTo(2);
            assertThat(registry.inference("gone").orElseThrow().generation()).isEqualTo(2);
            assertThat(deploymentExists(next.name())).isTrue();

            assertThatThrownBy(() -> old.scale(5))
                    .isInstanceOf(InferenceException.class)
                    .hasMessageStartingWith("Inference deployment 'gone' cannot be scaled by this launcher (owner "
                            + "kubernetes:ml/kafkaml-infer-gone#")
                    .hasMessageContaining("generation 1): it is now RUNNING, owner kubernetes:ml/kafkaml-infer-gone#")
                    .hasMessageEndingWith("generation 2");
            assertThatThrownBy(old::stop)
                    .isInstanceOf(InferenceException.class)
                    .hasMessageContaining("is no longer this launcher's")
                    .hasMessageContaining("its Deployment was not deleted");
            assertThat(client.apps()
                            .deployments()
                            .inNamespace("ml")
                            .withName(next.name())
                            .get()
                            .getSpec()
                            .getReplicas())
                    .as("the new generation's Deployment is untouched")
                    .isEqualTo(2);
            assertThat(registry.inference("gone").orElseThrow().status()).isEqualTo("RUNNING");
            next.stop();
            assertThat(registry.inference("gone").orElseThrow().status()).isEqualTo("STOPPED");
        }
    }

    @Test
    void aRecordOwnedFromAnotherNamespaceIsJudgedByItsDeploymentThere(EmbeddedKafkaBroker kafka) {
        KubernetesSettings elsewhere = KubernetesSettings.builder("kafka.data:9092", "ghcr.io/kafkaml/worker:0.1.0")
                .namespace("team-b")
                .build();
        try (Registry registry = registry(kafka, "k8s-ns")) {
            KubernetesInference theirs =
                    KubernetesInference.start(client, elsewhere, registry, "shared", spec("7.m"), LEASE);
            theirs.scale(0); // nothing consumes, on purpose

            // a launcher in namespace ml sees the Deployment in team-b, not the absence of one in its own namespace
            assertThatThrownBy(() -> KubernetesInference.start(
                            client, KubernetesIT.settings(), registry, "shared", spec("7.m"), LEASE))
                    .isInstanceOf(InferenceException.class)
                    .hasMessageStartingWith("Inference deployment 'shared': its Kubernetes Deployment "
                            + "team-b/kafkaml-infer-shared exists already");
            assertThat(deploymentExists("kafkaml-infer-shared")).isFalse();

            // deleted behind kafkaml's back while scaled to 0: judged by its (empty) group, taken over
            client.apps()
                    .deployments()
                    .inNamespace("team-b")
                    .withName(theirs.name())
                    .delete();
            Awaitility.await()
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> client.apps()
                                    .deployments()
                                    .inNamespace("team-b")
                                    .withName(theirs.name())
                                    .get()
                            == null);
            assertThatThrownBy(() -> theirs.scale(2))
                    .isInstanceOf(InferenceException.class)
                    .hasMessage("Inference deployment 'shared' could not be scaled to 2: its Kubernetes Deployment "
                            + "team-b/kafkaml-infer-shared is gone (deleted outside kafkaml?); stop it to record "
                            + "STOPPED, or start it again");
            KubernetesInference ours =
                    KubernetesInference.start(client, KubernetesIT.settings(), registry, "shared", spec("7.m"), LEASE);
            assertThat(ours.generation()).isEqualTo(2);
            assertThat(deploymentExists(ours.name())).isTrue();
            ours.stop();
            assertThat(deploymentExists(ours.name())).isFalse();
            // stop returns when the Deployment is gone: the same id starts again at once
            KubernetesInference again =
                    KubernetesInference.start(client, KubernetesIT.settings(), registry, "shared", spec("7.m"), LEASE);
            assertThat(again.generation()).isEqualTo(3);
            again.stop();
        }
    }

    @Test
    void aSilentLocalOwnerIsTakenOverAfterItsLease(EmbeddedKafkaBroker kafka) {
        try (Registry registry = registry(kafka, "k8s-silent")) {
            assertThat(registry.putInference(localOwner("silent", "7.m", 1_000)))
                    .isTrue();
            KubernetesInference started =
                    KubernetesInference.start(client, KubernetesIT.settings(), registry, "silent", spec("7.m"), LEASE);
            Inference now = registry.inference("silent").orElseThrow();
            assertThat(now.generation()).isEqualTo(2);
            assertThat(now.owner()).startsWith("kubernetes:ml/kafkaml-infer-silent#");
            assertThat(client.apps()
                            .deployments()
                            .inNamespace("ml")
                            .withName(started.name())
                            .get()
                            .getMetadata()
                            .getAnnotations())
                    .containsEntry(KubernetesInference.OWNER_ANNOTATION, now.owner())
                    .containsEntry(KubernetesInference.GENERATION_ANNOTATION, "2");
            assertThat(now.supervisedBy()).isEqualTo(Inference.SUPERVISED_BY_KUBERNETES);
            started.stop();
        }
    }

    /** Two launchers start one id at once: one runs, the other is refused and the record stays the winner's. */
    @Test
    void twoConcurrentStartsOfOneIdLeaveOneDeploymentAndItsRecordRunning(EmbeddedKafkaBroker kafka) throws Exception {
        try (Registry first = registry(kafka, "k8s-race");
                Registry second = registry(kafka, "k8s-race")) {
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
            try {
                java.util.concurrent.CyclicBarrier barrier = new java.util.concurrent.CyclicBarrier(2);
                List<java.util.concurrent.Future<KubernetesInference>> starts = new java.util.ArrayList<>();
                for (Registry registry : List.of(first, second)) {
                    starts.add(pool.submit(() -> {
                        barrier.await(30, java.util.concurrent.TimeUnit.SECONDS);
                        return KubernetesInference.start(
                                client, KubernetesIT.settings(), registry, "race", spec("7.m"), LEASE);
                    }));
                }
                List<KubernetesInference> won = new java.util.ArrayList<>();
                List<Throwable> refused = new java.util.ArrayList<>();
                for (java.util.concurrent.Future<KubernetesInference> start : starts) {
                    try {
                        won.add(start.get(60, java.util.concurrent.TimeUnit.SECONDS));
                    } catch (java.util.concurrent.ExecutionException e) {
                        refused.add(e.getCause());
                    }
                }
                assertThat(won).hasSize(1);
                assertThat(refused).singleElement().isInstanceOf(InferenceException.class);
                // each registry sees the winner's RUNNING record once it has caught up with the other's writes
                Awaitility.await()
                        .atMost(Duration.ofSeconds(30))
                        .until(() -> first.inference("race")
                                        .filter(r -> "RUNNING".equals(r.status()))
                                        .isPresent()
                                && second.inference("race")
                                        .filter(r -> "RUNNING".equals(r.status()))
                                        .isPresent());
                assertThat(first.inference("race").orElseThrow().owner())
                        .isEqualTo(second.inference("race").orElseThrow().owner());
                assertThat(deploymentExists(won.get(0).name())).isTrue();
                won.get(0).stop();
                // the winner may have been 'second': 'first' reads the STOPPED record once its registry catches up
                Awaitility.await()
                        .atMost(Duration.ofSeconds(30))
                        .until(() -> first.inference("race").orElseThrow().status(), "STOPPED"::equals);
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void aDeploymentTheApiServerRefusesEndsTheRecordFailedWithTheReason(EmbeddedKafkaBroker kafka) {
        KubernetesMockServer server = new KubernetesMockServer(false);
        server.init();
        try (KubernetesClient refusing = server.createClient();
                Registry registry = registry(kafka, "k8s-refused")) {
            server.expect()
                    .post()
                    .withPath("/apis/apps/v1/namespaces/ml/deployments")
                    .andReturn(
                            403,
                            new StatusBuilder()
                                    .withCode(403)
                                    .withReason("Forbidden")
                                    .withMessage("deployments.apps is forbidden: User \"system:serviceaccount:ml:ci\""
                                            + " cannot create resource \"deployments\" in API group \"apps\"")
                                    .build())
                    .once();

            assertThatThrownBy(() -> KubernetesInference.start(
                            refusing, KubernetesIT.settings(), registry, "refused", spec("7.m"), LEASE))
                    .isInstanceOf(InferenceException.class)
                    .hasMessageStartingWith("Inference deployment 'refused' FAILED: its Kubernetes Deployment "
                            + "ml/kafkaml-infer-refused could not be created: HTTP 403 deployments.apps is forbidden");
            Inference failed = registry.inference("refused").orElseThrow();
            assertThat(failed.status()).isEqualTo("FAILED");
            assertThat(failed.error()).contains("HTTP 403").contains("cannot create resource \"deployments\"");

            // the next launch, with the permission granted, starts the next generation
            KubernetesInference retried =
                    KubernetesInference.start(client, KubernetesIT.settings(), registry, "refused", spec("7.m"), LEASE);
            assertThat(registry.inference("refused").orElseThrow().generation()).isEqualTo(2);
            retried.stop();
        } finally {
            server.destroy();
        }
    }

    private static KafkaConsumer<byte[], byte[]> member(EmbeddedKafkaBroker kafka, String group) {
        Map<String, Object> config = new HashMap<>(kafka.clientConfig());
        config.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config);
        consumer.subscribe(List.of("in"));
        return consumer;
    }
}
