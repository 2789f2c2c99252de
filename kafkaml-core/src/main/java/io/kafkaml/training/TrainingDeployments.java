package io.kafkaml.training;

import io.kafkaml.control.ControlChannel;
import io.kafkaml.control.ControlTopicPosition;
import io.kafkaml.control.ControlTopicState;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.Datasource;
import io.kafkaml.registry.Deployment;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.EntityNotFoundException;
import io.kafkaml.registry.Registry;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Deploys configurations for training (the paper's step C): records the deployment in the registry, then
 * hands it to a launcher. The deployment waits for the control message of its data stream.
 *
 * <p><b>Which control message.</b> On deploying, the control topic is read once: where it ends is recorded in the
 * deployment's settings ({@value #CONTROL_POSITION_SETTING}, a {@link ControlTopicPosition}), and the deployment
 * accepts only a control message published after that point, so an old message for the same id (an earlier
 * registry's, or one from Kafka-ML's own deployment of that number) is never trained on. To train on a stream sent
 * earlier, deploy with {@link TrainingSpec.Builder#reuseStream(boolean) reuseStream} (CLI:
 * {@code kafkaml train --reuse-stream}), or re-send it after deploying ({@link Registry#resend}).
 *
 * <p><b>Ids.</b> A new numeric id is claimed ({@link ControlChannel#claimDeploymentId}) above the largest numeric id
 * among this registry's deployments, every message on the control topic, the datasource catalog and every id claimed
 * on the control topic's claims topic ({@link ControlChannel#idClaimsTopic()}): the first claim of an id in that
 * one-partition topic wins, so processes (registries of any prefix) deploying on one control topic at the same
 * instant never get the same id, and ids Kafka-ML used on the control topic are skipped. An explicit numeric id is
 * claimed there too, so later claimed ids are above it, and refused when another registry claimed it first (two
 * deployments of one id would train on each other's stream). Kafka-ML's sinks need numeric ids. On a secured cluster
 * whose principal lacks the claims topic's ACLs ({@code DESCRIBE}, {@code READ}, {@code WRITE}, and {@code CREATE}
 * once), the id is one above every id known, with a one-line warning naming the missing ACL (as before claims:
 * processes deploying at the same instant may then get one id); an explicit id is then not checked.
 *
 * <pre>{@code
 * TrainingDeployments deployments = new TrainingDeployments(registry, launcher);
 * TrainingHandle handle = deployments.deploy("hcopd-all", TrainingSpec.builder().epochs(100).build());
 * // send the data with a sink for deployment handle.deploymentId(), then:
 * handle.await(Duration.ofMinutes(5));
 * registry.results(handle.deploymentId());
 * }</pre>
 *
 * <p>Thread-safe; deploying reads the control topic to its end (bounded by {@link #CONTROL_READ_TIMEOUT}).
 */
public final class TrainingDeployments {

    /** The deployment setting that records where the control topic ended when it was recorded. */
    public static final String CONTROL_POSITION_SETTING = "controlTopicPosition";
    /** How long deploying may take to read the control topic. */
    public static final Duration CONTROL_READ_TIMEOUT = Duration.ofSeconds(30);

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(TrainingDeployments.class);

    private final Registry registry;
    private final TrainingLauncher launcher;
    private final String controlTopic;

    /** Deploys with {@code launcher}, waiting on the default control topic. */
    public TrainingDeployments(Registry registry, TrainingLauncher launcher) {
        this(registry, launcher, ControlChannel.DEFAULT_TOPIC);
    }

    /** Deploys with {@code launcher}, waiting on {@code controlTopic}. */
    public TrainingDeployments(Registry registry, TrainingLauncher launcher, String controlTopic) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.launcher = Objects.requireNonNull(launcher, "launcher");
        this.controlTopic = Objects.requireNonNull(controlTopic, "controlTopic");
    }

    /**
     * Deploys a configuration under a new numeric deployment id, claimed so that no other process gets it (see the
     * class documentation).
     *
     * @throws EntityNotFoundException if the configuration or one of its models does not exist
     * @throws io.kafkaml.model.InvalidModelException if one of its models cannot be trained; nothing is recorded then
     * @throws io.kafkaml.common.KafkaMlException if no id could be claimed within {@link #CONTROL_READ_TIMEOUT}
     */
    public synchronized TrainingHandle deploy(String configuration, TrainingSpec spec) {
        Configuration config = TrainingJob.configuration(registry, configuration);
        List<ModelDefinition> models = TrainingJob.models(registry, config);
        models.forEach(ModelDefinition::checkTrainable);
        ControlTopicState state = controlState();
        String id;
        try (ControlChannel control = registry.controlChannel(controlTopic)) {
            id = String.valueOf(control.claimDeploymentId(maxKnownId(state), owner(), CONTROL_READ_TIMEOUT));
        } catch (io.kafkaml.common.KafkaMlException e) {
            if (!ControlChannel.isAuthorizationFailure(e)) {
                throw e;
            }
            id = String.valueOf(maxKnownId(state) + 1);
            log.warn(
                    "Deployment id {} taken as one above every id known, unclaimed (processes deploying at the same "
                            + "instant may get it too): {}",
                    id,
                    e.getMessage());
        }
        return record(config, models, spec, id, state);
    }

    /**
     * Deploys a configuration under {@code deploymentId}.
     *
     * @throws EntityNotFoundException if the configuration or one of its models does not exist
     * @throws io.kafkaml.model.InvalidModelException if one of its models cannot be trained (it has no usable loss),
     *     naming the model and the reason; nothing is recorded then
     * @throws io.kafkaml.registry.DuplicateEntityException if the deployment id is taken, in this registry or, for a
     *     numeric id, claimed by another registry on the control topic ({@link ControlChannel#recordDeploymentId})
     */
    public synchronized TrainingHandle deploy(String configuration, TrainingSpec spec, String deploymentId) {
        Configuration config = TrainingJob.configuration(registry, configuration);
        List<ModelDefinition> models = TrainingJob.models(registry, config);
        models.forEach(ModelDefinition::checkTrainable);
        ControlTopicState state = controlState();
        if (numeric(deploymentId) > 0 && registry.deployment(deploymentId).isEmpty()) {
            try (ControlChannel control = registry.controlChannel(controlTopic)) {
                control.recordDeploymentId(numeric(deploymentId), owner(), CONTROL_READ_TIMEOUT);
            } catch (io.kafkaml.registry.DuplicateEntityException e) {
                throw e;
            } catch (io.kafkaml.common.KafkaMlException e) {
                // The explicit id stays usable, unchecked: ids claimed later may not skip it.
                log.warn(
                        "Deployment id {} could not be claimed in '{}' (not checked against other registries; ids "
                                + "claimed later may not skip it): {}",
                        deploymentId,
                        controlTopic + ControlChannel.ID_CLAIMS_SUFFIX,
                        e.getMessage());
            }
        }
        return record(config, models, spec, deploymentId, state);
    }

    private TrainingHandle record(
            Configuration config,
            List<ModelDefinition> models,
            TrainingSpec spec,
            String deploymentId,
            ControlTopicState state) {
        Instant now = Instant.now();
        Map<String, Object> settings = new LinkedHashMap<>(spec.toMap());
        settings.put(CONTROL_POSITION_SETTING, state.end().format());
        registry.createDeployment(new Deployment(
                deploymentId, config.name(), DeploymentStatus.WAITING_FOR_DATA, null, settings, now, now, null));
        return launcher.launch(new TrainingJob(deploymentId, config, models, spec, controlTopic));
    }

    /**
     * The id {@link #deploy(String, TrainingSpec)} would claim now if no other process claims it first: one above every
     * id known (see the class documentation). Claims nothing.
     */
    public synchronized String nextDeploymentId() {
        ControlTopicState state = controlState();
        long claimed;
        try (ControlChannel control = registry.controlChannel(controlTopic)) {
            claimed = control.maxClaimedDeploymentId(CONTROL_READ_TIMEOUT);
        } catch (io.kafkaml.common.KafkaMlException e) {
            if (!ControlChannel.isAuthorizationFailure(e)) {
                throw e;
            }
            claimed = 0; // as deploy() does without the claims topic's ACLs
        }
        return String.valueOf(Math.max(maxKnownId(state), claimed) + 1);
    }

    /**
     * Where the control topic of a recorded deployment stood when it was recorded; the beginning for a deployment
     * recorded without it (every message for it is accepted).
     */
    public static ControlTopicPosition controlPosition(Deployment deployment) {
        Object text = deployment.settings().get(CONTROL_POSITION_SETTING);
        return text == null ? ControlTopicPosition.BEGINNING : ControlTopicPosition.parse(text.toString());
    }

    /** The largest numeric id of the control topic, this registry's deployments and the datasource catalog. */
    private long maxKnownId(ControlTopicState state) {
        long max = state.maxNumericDeploymentId();
        for (Deployment deployment : registry.deployments()) {
            max = Math.max(max, numeric(deployment.id()));
        }
        for (Datasource datasource : registry.datasources()) {
            max = Math.max(max, numeric(datasource.deploymentId()));
        }
        return max;
    }

    /** Who claims ids for this registry: its topic prefix. */
    private String owner() {
        String metrics = registry.metricsTopic();
        return metrics.endsWith(".metrics") ? metrics.substring(0, metrics.length() - ".metrics".length()) : metrics;
    }

    private ControlTopicState controlState() {
        try (ControlChannel control = registry.controlChannel(controlTopic)) {
            return control.readState(CONTROL_READ_TIMEOUT);
        }
    }

    private static long numeric(String id) {
        return id != null && id.matches("[0-9]{1,18}") ? Long.parseLong(id) : 0;
    }
}
