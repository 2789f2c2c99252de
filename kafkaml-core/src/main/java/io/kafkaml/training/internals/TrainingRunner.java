package io.kafkaml.training.internals;

import io.kafkaml.config.KafkaClientSupplier;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.control.ControlChannel;
import io.kafkaml.control.ControlMessage;
import io.kafkaml.dataset.StreamDataSetIterator;
import io.kafkaml.dataset.StreamDataSets;
import io.kafkaml.format.RecordDecoder;
import io.kafkaml.format.RecordFormats;
import io.kafkaml.model.InputLayout;
import io.kafkaml.model.InvalidModelException;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.model.OutputKind;
import io.kafkaml.registry.Deployment;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.stream.StreamSlice;
import io.kafkaml.training.IncrementalSpec;
import io.kafkaml.training.LocalTrainingLauncher;
import io.kafkaml.training.TrainingDeployments;
import io.kafkaml.training.TrainingJob;
import io.kafkaml.training.TrainingListener;
import io.kafkaml.training.TrainingSpec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.evaluation.classification.EvaluationBinary;
import org.nd4j.evaluation.regression.RegressionEvaluation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;
import org.nd4j.linalg.dataset.api.preprocessor.NormalizerMinMaxScaler;
import org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize;
import org.nd4j.linalg.dataset.api.preprocessor.serializer.NormalizerSerializer;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains the models of one deployment: waits for the control message of its data stream, reads the stream
 * once per epoch for all models (decoded batches are fitted by each model in turn), evaluates validation every
 * epoch and test at the end, and records in the registry what it owns and nothing else: each of its models'
 * {@link TrainingResult}, a bounded summary (last and best epoch, test metrics, confusion matrix, artifact ids)
 * written at most once a second while training; one record per epoch in the metrics topic
 * ({@link Registry#appendEpoch}, sent without waiting; a {@link TrainingListener} gets every epoch too); and the
 * trained model and normalizer as artifacts. It never writes the deployment's status: that is derived from the
 * results ({@link Deployment#derivedFrom}), so runners of one deployment's models (one Kubernetes Job each) cannot
 * overwrite each other. Nothing it writes grows with the number of epochs.
 *
 * <p>The {@link LocalTrainingLauncher} runs it on a thread of this JVM; a worker process (a Kubernetes Job) runs
 * it as its main work. Nothing escapes {@link #run()}, not even an {@link Error}: every model still running ends
 * FAILED with the reason. A registry write that fails is not retried into the same failure: the model ends FAILED
 * with the write's reason. A model whose result is already terminal is never trained again.
 *
 * <p>Labels and metrics follow the model's {@link OutputKind} (the README's "Label kinds"): multi-class models take
 * a class index per record, one-hot encoded for MCXENT/NLL losses and kept as {@code [batch, 1]} indices for
 * SPARSE_MCXENT, and report {@code accuracy}, {@code precision}, {@code recall}, {@code f1} (of class 1 with two
 * classes, macro-averaged over classes otherwise) and an n×n confusion matrix; binary models (one sigmoid output)
 * take a 0/1 label, count class 1 from the spec's decision threshold and report the same metrics with a 2×2
 * matrix; multi-label models report them averaged over labels and per label ({@code precision_0}, ...);
 * regressors report {@code mse}, {@code mae}, {@code rmse}, {@code r2} averaged over outputs, and per output
 * ({@code mse_0}, ...) when there are several. All report the {@code loss}.
 *
 * <p>An <b>unbounded</b> stream (Kafka-ML's online control message: {@code incremental} and a bare topic) is trained
 * in windows instead of epochs ({@link IncrementalSpec}): one metrics record per window (prequential and hold-out
 * metrics), a promotion decision, a checkpoint in the registry, then the commit of the window's offsets; a runner
 * restarted on the same result resumes from the checkpoint. With {@link io.kafkaml.training.SemiSupervisedSpec} and a
 * stream that names {@code unsupervised_topic} slices, pseudo-label rounds follow the labelled epochs.
 *
 * <p>Not thread-safe, except {@link #cancel()}, {@link #awaitEnd} and {@link #finalStatus()}.
 */
public final class TrainingRunner implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(TrainingRunner.class);
    private static final long PUBLISH_INTERVAL_NANOS = 1_000_000_000L;
    private static final long LOG_INTERVAL_NANOS = 10_000_000_000L;
    /** Ends the reason of a version the policy accepted while the result was pinned by hand: never promoted by it. */
    static final String NOT_PROMOTED_PINNED = " (not promoted: the result is pinned)";

    private final TrainingJob job;
    private final Registry registry;
    private final Map<String, ?> clientConfig;
    private final KafkaClientSupplier clients;
    private final TrainingListener listener;
    private final AtomicBoolean cancelled = new AtomicBoolean();
    /** Where the control message comes from: the launcher's listener, or (null) this runner's own wait. */
    private final java.util.function.Supplier<ControlMessage> delivered;

    private final java.util.concurrent.CountDownLatch ended = new java.util.concurrent.CountDownLatch(1);
    private final String run = java.util.UUID.randomUUID().toString();
    private volatile DeploymentStatus finalStatus;
    /**
     * Called at each step of an incremental window ({@code fitted:N}, {@code published:N} after the promotion
     * decision, {@code checkpointed:N}, {@code committed:N}): a test stops the runner there as a kill would.
     */
    java.util.function.Consumer<String> stageHook = stage -> {};

    private DeploymentStatus lastDeploymentStatus;

    /**
     * @param clientConfig settings of the Kafka clients that read the control topic and the data; may also hold
     *        {@value io.kafkaml.config.KafkaMlConfig#MAX_RECORD_VALUES_CONFIG}
     * @param listener called as training progresses, or {@code null}
     */
    public TrainingRunner(TrainingJob job, Registry registry, Map<String, ?> clientConfig, TrainingListener listener) {
        this(job, registry, clientConfig, listener, KafkaClientSupplier.DEFAULT, null);
    }

    /**
     * A runner whose consumers of the control topic and of the data stream come from {@code clients} (tests: a
     * {@code MockConsumer}); what it records goes through {@code registry}, whose clients are its own.
     *
     * @param clients creates the consumers that read the control topic (while it waits for its control message) and
     *     the data stream
     */
    public TrainingRunner(
            TrainingJob job,
            Registry registry,
            Map<String, ?> clientConfig,
            TrainingListener listener,
            KafkaClientSupplier clients) {
        this(job, registry, clientConfig, listener, clients, null);
    }

    /**
     * A runner whose control message was already received by its launcher's one control-topic listener:
     * {@code delivered} returns it (or throws why there is none, e.g. a timeout or a cancellation).
     */
    public TrainingRunner(
            TrainingJob job,
            Registry registry,
            Map<String, ?> clientConfig,
            TrainingListener listener,
            KafkaClientSupplier clients,
            java.util.function.Supplier<ControlMessage> delivered) {
        this.delivered = delivered;
        this.clients = Objects.requireNonNull(clients, "clients");
        this.job = Objects.requireNonNull(job, "job");
        this.registry = Objects.requireNonNull(registry, "registry");
        this.clientConfig = Map.copyOf(clientConfig);
        this.listener = listener != null ? listener : new TrainingListener() {};
    }

    /** Asks the runner to stop at the next batch (or while it waits for data). */
    public void cancel() {
        cancelled.set(true);
    }

    /**
     * The status of what this runner trains once {@link #run()} has returned, derived from its own models' results
     * as {@link Deployment#derivedFrom} does: FAILED if any failed, else CANCELLED if any was cancelled, else
     * FINISHED. For a runner of a whole deployment (the local launcher) it is the deployment's status; a worker that
     * trains one model of it reports that model's. {@code null} while it runs.
     */
    public DeploymentStatus finalStatus() {
        return finalStatus;
    }

    /**
     * Waits until {@link #run()} has returned (after {@link #cancel()}: once CANCELLED is recorded).
     *
     * @return whether it has returned within {@code timeout}
     */
    public boolean awaitEnd(Duration timeout) throws InterruptedException {
        return ended.await(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /**
     * Trains the deployment's models; returns when each has FINISHED, FAILED or been CANCELLED, and each result
     * records it. Never throws: an exception or an {@link Error} (an {@code OutOfMemoryError}) ends every model
     * still running FAILED with its reason. A model whose result is already terminal (a restarted worker of a model
     * that ended) is not trained again and its result is left as it is.
     */
    @Override
    public void run() {
        String id = job.deploymentId();
        List<ModelTrainer> trainers = new ArrayList<>();
        List<DeploymentStatus> alreadyEnded = new ArrayList<>();
        try {
            ensureDeploymentRecorded();
            for (ModelDefinition model : job.models()) {
                java.util.Optional<TrainingResult> existing = registry.result(TrainingResult.idOf(id, model.name()));
                if (existing.isPresent() && existing.get().status().isTerminal()) {
                    log.warn(
                            "[{}] model {} already ended {}{}; it is not trained again",
                            id,
                            model.name(),
                            existing.get().status(),
                            existing.get().error() == null
                                    ? ""
                                    : ": " + existing.get().error());
                    alreadyEnded.add(existing.get().status());
                } else {
                    trainers.add(new ModelTrainer(model));
                }
            }
            if (trainers.isEmpty()) {
                return;
            }
            int resumed = resume(trainers);
            trainers.forEach(t -> t.publish(DeploymentStatus.WAITING_FOR_DATA));
            ControlMessage message = awaitControlMessage();
            boolean unbounded = message.unboundedTopic().isPresent();
            if (message.unboundedUnsupervisedTopic().isPresent() && unbounded) {
                throw new io.kafkaml.common.KafkaMlException("The control message for deployment '" + id
                        + "' names bare topics in both topic ('"
                        + message.unboundedTopic().get() + "') and "
                        + "unsupervised_topic ('"
                        + message.unboundedUnsupervisedTopic().get() + "'): Kafka-ML's "
                        + "online semi-supervised stream sends the labelled records as slices in topic and only "
                        + "unsupervised_topic bare; an unbounded labelled and an unbounded unlabelled stream at once "
                        + "is not a Kafka-ML stream kafkaml knows how to train");
            }
            if (!unbounded && resumed > 0) { // checkpoints of an incremental run, but this stream is bounded
                trainers.forEach(ModelTrainer::forgetResume);
            }
            registry.deployment(id).ifPresent(d -> registry.updateDeployment(d.withControlMessage(message.toJson())));
            log.info(
                    "[{}] Training {} model(s) of configuration '{}' on {}",
                    id,
                    trainers.size(),
                    job.configuration().name(),
                    message.slices());
            RecordDecoder decoder = RecordFormats.bounded(
                    RecordFormats.forName(message.inputFormat()).newDecoder(message.inputConfig()),
                    KafkaMlConfig.maxRecordBytes(clientConfig));
            for (ModelTrainer trainer : trainers) {
                trainer.prepare(
                        trainer.resume != null ? restoreNetwork(trainer) : registry.newNetwork(trainer.model), decoder);
            }
            Map<LabelPlan, List<ModelTrainer>> groups = new LinkedHashMap<>();
            for (ModelTrainer trainer : trainers) {
                if (trainer.error == null) {
                    groups.computeIfAbsent(trainer.labels, k -> new ArrayList<>())
                            .add(trainer);
                    if (!unbounded) {
                        trainer.publish(DeploymentStatus.TRAINING); // its data arrived: reading it is training
                    } // an incremental run stays WAITING_FOR_DATA until its first window arrives (trainIncremental)
                } else {
                    trainer.publish(DeploymentStatus.FAILED);
                }
            }
            if (unbounded && groups.size() > 1) {
                throw new io.kafkaml.common.KafkaMlException("The models of deployment '" + id + "' take the "
                        + "stream's labels in " + groups.size() + " different ways (one-hot, class indices, as "
                        + "decoded); an incremental run reads its topic once for models that take them alike: deploy "
                        + "them in separate deployments");
            }
            for (Map.Entry<LabelPlan, List<ModelTrainer>> group : groups.entrySet()) {
                if (unbounded) {
                    trainIncremental(message, group.getKey(), group.getValue());
                } else {
                    trainGroup(message, group.getKey(), group.getValue());
                }
            }
        } catch (CancelledException e) {
            for (ModelTrainer trainer : trainers) {
                if (!trainer.status.isTerminal()) {
                    trainer.error = "cancelled on request";
                    trainer.publish(DeploymentStatus.CANCELLED);
                }
            }
        } catch (Throwable e) { // an Error too: the result must not stay TRAINING when the JVM runs out of memory
            String reason = e instanceof Error ? e.getClass().getSimpleName() + ": " + reason(e) : reason(e);
            if (e instanceof io.kafkaml.common.KafkaMlException) {
                log.error("[{}] Training failed: {}", id, reason);
            } else {
                log.error("[{}] Training failed: {}", id, reason, e);
            }
            for (ModelTrainer trainer : trainers) {
                if (!trainer.status.isTerminal()) {
                    trainer.error = reason;
                    trainer.publish(DeploymentStatus.FAILED);
                }
            }
            if (trainers.isEmpty() && alreadyEnded.isEmpty()) {
                alreadyEnded.add(DeploymentStatus.FAILED); // nothing could even be recorded: say so in finalStatus
            }
        } finally {
            for (ModelTrainer trainer : trainers) {
                if (trainer.windowed && !trainer.fenced && trainer.status.isTerminal()) {
                    // an ended result is never resumed: its checkpoints are garbage (FINISHED deleted its last)
                    trainer.sweepCheckpoints(trainer.epochCount + 1, -1);
                }
            }
            List<DeploymentStatus> statuses = new ArrayList<>(alreadyEnded);
            trainers.forEach(t -> statuses.add(t.status.isTerminal() ? t.status : DeploymentStatus.FAILED));
            finalStatus = statuses.contains(DeploymentStatus.FAILED)
                    ? DeploymentStatus.FAILED
                    : statuses.contains(DeploymentStatus.CANCELLED)
                            ? DeploymentStatus.CANCELLED
                            : DeploymentStatus.FINISHED;
            log.info(
                    "[{}] The {} model(s) of this runner ended: {}",
                    id,
                    trainers.size() + alreadyEnded.size(),
                    finalStatus);
            deploymentChanged();
            ended.countDown();
        }
    }

    /** Tells the listener a model's training ended; a listener that throws changes nothing recorded. */
    private void notifyResult(TrainingResult result) {
        try {
            listener.onResult(result);
        } catch (RuntimeException e) {
            log.warn(
                    "[{}] A training listener failed on the result of {}: {}",
                    job.deploymentId(),
                    result.model(),
                    e.toString());
        }
    }

    /** Records the deployment when a runner is started without {@link TrainingDeployments} (its record is its own). */
    private void ensureDeploymentRecorded() {
        if (registry.deployment(job.deploymentId()).isEmpty()) {
            registry.createDeployment(new Deployment(
                    job.deploymentId(),
                    job.configuration().name(),
                    DeploymentStatus.WAITING_FOR_DATA,
                    null,
                    job.spec().toMap(),
                    Instant.now(),
                    Instant.now(),
                    null));
        }
    }

    /** Tells the listener when the deployment's derived status changes. */
    private void deploymentChanged() {
        try {
            registry.deployment(job.deploymentId()).ifPresent(deployment -> {
                if (deployment.status() != lastDeploymentStatus) {
                    lastDeploymentStatus = deployment.status();
                    if (deployment.status().isTerminal()) {
                        log.info(
                                "[{}] Deployment {}{}",
                                job.deploymentId(),
                                deployment.status(),
                                deployment.error() == null ? "" : ": " + deployment.error());
                    }
                    listener.onDeploymentStatus(job.deploymentId(), deployment.status(), deployment.error());
                }
            });
        } catch (RuntimeException e) {
            log.warn("[{}] Cannot read the deployment's status: {}", job.deploymentId(), e.toString());
        }
    }

    /**
     * The control message this deployment accepts: only one published after the deployment was recorded, unless
     * its spec reuses a stream (see {@link TrainingDeployments}).
     */
    private ControlMessage awaitControlMessage() {
        Duration wait = job.spec().controlWait().orElse(ChronoUnit.FOREVER.getDuration());
        try {
            if (delivered != null) {
                return delivered.get();
            }
            io.kafkaml.control.ControlTopicPosition since = registry.deployment(job.deploymentId())
                    .map(TrainingDeployments::controlPosition)
                    .orElse(io.kafkaml.control.ControlTopicPosition.BEGINNING);
            try (ControlChannel control = ControlChannel.create(clientConfig, job.controlTopic(), clients)) {
                return control.await(job.deploymentId(), since, job.spec().reuseStream(), wait, cancelled::get);
            }
        } catch (CancellationException e) {
            throw new CancelledException();
        }
    }

    private void trainGroup(ControlMessage message, LabelPlan labels, List<ModelTrainer> trainers) {
        TrainingSpec spec = job.spec();
        StreamDataSets.Builder builder = StreamDataSets.builder(clientConfig, message)
                .clientSupplier(clients)
                .batchSize(spec.batchSize())
                .shuffle(spec.shuffle())
                .seed(spec.seed())
                .splitOrder(spec.splitOrder())
                .cacheBudgetBytes(spec.cacheBudgetBytes())
                .badRecordPolicy(spec.badRecordPolicy());
        if (labels.oneHotClasses() > 0) {
            builder.oneHotLabels(labels.oneHotClasses());
        } else if (labels.indexClasses() > 0) {
            builder.classIndexLabels(labels.indexClasses());
        }
        try (StreamDataSets data = builder.build()) {
            StreamDataSetIterator train = data.train();
            DataNormalization normalizer = fitNormalizer(train);
            if (normalizer != null) {
                data.normalize(normalizer);
            }
            StreamDataSetIterator validation = data.validation();
            StreamDataSetIterator test = data.test();
            boolean hasValidation = data.splitSize(io.kafkaml.dataset.DataSplit.VALIDATION) > 0;
            boolean hasTest = data.splitSize(io.kafkaml.dataset.DataSplit.TEST) > 0;
            if (spec.earlyStoppingMetric() != null && !hasValidation) {
                log.warn(
                        "[{}] Early stopping needs a validation split; the stream has none, so it is off",
                        job.deploymentId());
            }
            trainers.forEach(t -> t.start(normalizer));
            for (int epoch = 1; epoch <= spec.epochs(); epoch++) {
                List<ModelTrainer> active =
                        trainers.stream().filter(ModelTrainer::active).toList();
                if (active.isEmpty()) {
                    break;
                }
                if (epoch > 1) {
                    train.reset();
                }
                long begin = System.nanoTime();
                int steps = 0;
                while (train.hasNext() && (spec.stepsPerEpoch() == 0 || steps < spec.stepsPerEpoch())) {
                    checkCancelled();
                    DataSet batch = train.next();
                    for (ModelTrainer trainer : active) {
                        trainer.fit(batch, epoch, steps);
                    }
                    try {
                        listener.onBatch(job.deploymentId(), epoch, batch.numExamples());
                    } catch (RuntimeException e) {
                        log.warn("[{}] A training listener failed on a batch: {}", job.deploymentId(), e.toString());
                    }
                    steps++;
                }
                long millis = (System.nanoTime() - begin) / 1_000_000;
                Map<ModelTrainer, Map<String, Double>> metrics =
                        hasValidation ? evaluate(validation, active, null) : new LinkedHashMap<>();
                for (ModelTrainer trainer : active) {
                    if (trainer.active()) {
                        trainer.endEpoch(
                                epoch, metrics.getOrDefault(trainer, Map.of()), millis, hasValidation, 0, Map.of());
                    }
                }
            }
            io.kafkaml.training.SemiSupervisedSpec semi = spec.semiSupervised();
            if (semi != null && !message.unsupervisedSlices().isEmpty()) {
                pseudoLabel(message, labels, train, validation, hasValidation, semi, normalizer, trainers);
            } else if (message.unboundedUnsupervisedTopic().isPresent()) {
                if (semi != null) {
                    pseudoLabelOnline(message, labels, train, validation, hasValidation, semi, normalizer, trainers);
                } else {
                    log.warn(
                            "[{}] The stream names the unlabelled topic '{}' (Kafka-ML's online semi-supervised "
                                    + "stream) but the deployment has no semi-supervised settings: it is not read",
                            job.deploymentId(),
                            message.unboundedUnsupervisedTopic().get());
                }
            }
            List<ModelTrainer> done = trainers.stream()
                    .filter(t -> t.error == null && !t.status.isTerminal())
                    .toList();
            Map<ModelTrainer, long[][]> confusion = new LinkedHashMap<>();
            Map<ModelTrainer, Map<String, Double>> testMetrics = hasTest ? evaluate(test, done, confusion) : Map.of();
            for (ModelTrainer trainer : done) {
                trainer.finish(testMetrics.getOrDefault(trainer, Map.of()), confusion.get(trainer));
            }
        }
    }

    // ---- semi-supervised rounds (Kafka-ML's unsupervised_topic) ----

    /**
     * Kafka-ML's semi-supervised training after the labelled epochs (see {@link io.kafkaml.training.SemiSupervisedSpec}):
     * for each round, each classifier predicts the unlabelled records left, takes those at or above the confidence
     * with their predicted class, adds them to its training records, removes them from its pool and trains again for
     * the spec's epochs; one metrics record per round (its {@code records}: the labelled and pseudo-labelled records
     * it trained on).
     */
    private void pseudoLabel(
            ControlMessage message,
            LabelPlan labels,
            StreamDataSetIterator train,
            StreamDataSetIterator validation,
            boolean hasValidation,
            io.kafkaml.training.SemiSupervisedSpec semi,
            DataNormalization normalizer,
            List<ModelTrainer> trainers) {
        List<ModelTrainer> classifiers = classifiers(trainers);
        if (classifiers.isEmpty()) {
            return;
        }
        DataSet labelled = labelled(train);
        INDArray pool = readUnlabelled(message, normalizer);
        log.info(
                "[{}] Semi-supervised: {} labelled training records, {} unlabelled records from {}",
                job.deploymentId(),
                labelled.numExamples(),
                pool == null ? 0 : pool.size(0),
                io.kafkaml.stream.StreamSlice.formatList(message.unsupervisedSlices()));
        for (ModelTrainer trainer : classifiers) {
            INDArray remaining = pool;
            DataSet combined = labelled;
            long pseudoLabelled = 0;
            for (int round = 1; round <= semi.rounds() && trainer.active(); round++) {
                if (remaining == null || remaining.size(0) == 0) {
                    log.info("[{}] model {}: no unlabelled record left", job.deploymentId(), trainer.model.name());
                    break;
                }
                Round done = pseudoLabelRound(
                        trainer,
                        labels,
                        semi,
                        remaining,
                        combined,
                        "round " + round,
                        round,
                        pseudoLabelled,
                        validation,
                        hasValidation);
                if (done == null) {
                    break;
                }
                combined = done.combined();
                remaining = done.left();
                pseudoLabelled += done.chosen();
            }
        }
    }

    /**
     * Kafka-ML's online semi-supervised training (its {@code OnlineRawSink} with {@code unsupervised_topic}: the
     * labelled records as slices, the unlabelled topic bare): after the labelled epochs the unlabelled topic is read in
     * windows ({@link IncrementalSpec}'s window and stream timeout) and each window is one round for each classifier
     * (its records pseudo-labelled at or above the confidence join the training records, which are fitted again for
     * the spec's epochs); a classifier stops at the first window with no record at the confidence (as Kafka-ML
     * does), and the reading ends when none is left, after {@code maxWindows}, or when the topic stays idle for the
     * stream timeout. The rounds of {@link io.kafkaml.training.SemiSupervisedSpec#rounds()} do not bound it (Kafka-ML
     * reads every window). No offset is committed: a restarted worker trains the deployment again from the start (the
     * labelled slices, then the unlabelled topic from its beginning), as it does a bounded stream.
     */
    private void pseudoLabelOnline(
            ControlMessage message,
            LabelPlan labels,
            StreamDataSetIterator train,
            StreamDataSetIterator validation,
            boolean hasValidation,
            io.kafkaml.training.SemiSupervisedSpec semi,
            DataNormalization normalizer,
            List<ModelTrainer> trainers) {
        List<ModelTrainer> learning = new ArrayList<>(classifiers(trainers));
        if (learning.isEmpty()) {
            return;
        }
        DataSet labelled = labelled(train);
        Map<ModelTrainer, DataSet> combined = new LinkedHashMap<>();
        Map<ModelTrainer, Long> pseudoLabelled = new LinkedHashMap<>();
        learning.forEach(t -> {
            combined.put(t, labelled);
            pseudoLabelled.put(t, 0L);
        });
        IncrementalSpec incremental = job.spec().incrementalOrDefault();
        String topic = message.unboundedUnsupervisedTopic().orElseThrow();
        log.info(
                "[{}] Semi-supervised online: {} labelled training records, unlabelled records read from topic '{}' "
                        + "in windows",
                job.deploymentId(),
                labelled.numExamples(),
                topic);
        try (WindowReader reader = new WindowReader(
                clientConfig,
                clients,
                topic,
                "kafkaml-semi-supervised." + job.deploymentId(),
                incremental,
                job.deploymentId())) {
            if (!reader.assign(cancelled::get)) {
                log.warn(
                        "[{}] The unlabelled topic '{}' did not appear within the stream timeout of {} ms: trained on "
                                + "the labelled records only",
                        job.deploymentId(),
                        topic,
                        incremental.streamTimeout().toMillis());
                return;
            }
            int window = 0;
            long max = KafkaMlConfig.semiSupervisedMaxUnlabelled(clientConfig);
            while (!learning.isEmpty() && (incremental.maxWindows() == 0 || window < incremental.maxWindows())) {
                for (ModelTrainer trainer : List.copyOf(learning)) {
                    if (pseudoLabelled.get(trainer) >= max) { // the training set in memory stays bounded
                        log.warn(
                                "[{}] model {} holds {} pseudo-labelled records, the most {} allows: it is not "
                                        + "pseudo-labelled further",
                                job.deploymentId(),
                                trainer.model.name(),
                                pseudoLabelled.get(trainer),
                                KafkaMlConfig.SEMI_SUPERVISED_MAX_UNLABELLED_CONFIG);
                        learning.remove(trainer);
                    }
                }
                if (learning.isEmpty()) {
                    break;
                }
                WindowReader.Window next = reader.next(cancelled::get);
                if (next == null) {
                    break;
                }
                window++;
                INDArray pool = readUnlabelled(
                        message.toBuilder()
                                .incremental(false)
                                .unsupervisedSlices(next.slices())
                                .build(),
                        normalizer);
                if (pool == null) {
                    continue; // nothing decodable in the window
                }
                for (ModelTrainer trainer : List.copyOf(learning)) {
                    Round done = trainer.active()
                            ? pseudoLabelRound(
                                    trainer,
                                    labels,
                                    semi,
                                    pool,
                                    combined.get(trainer),
                                    "window " + window,
                                    window,
                                    pseudoLabelled.get(trainer),
                                    validation,
                                    hasValidation)
                            : null;
                    if (done == null) {
                        learning.remove(trainer);
                    } else {
                        combined.put(trainer, done.combined());
                        pseudoLabelled.merge(trainer, (long) done.chosen(), Long::sum);
                    }
                }
            }
        } catch (CancellationException e) {
            throw new CancelledException();
        }
    }

    /** The single-label classifiers among the active models (the others are trained on labelled records only). */
    private List<ModelTrainer> classifiers(List<ModelTrainer> trainers) {
        List<ModelTrainer> classifiers = new ArrayList<>();
        for (ModelTrainer trainer : trainers) {
            if (!trainer.active()) {
                continue;
            }
            if (trainer.kind == OutputKind.MULTI_CLASS || trainer.kind == OutputKind.BINARY) {
                classifiers.add(trainer);
            } else {
                log.warn(
                        "[{}] model {} is not a single-label classifier ({}): it is trained on the labelled records "
                                + "only, without pseudo-labels",
                        job.deploymentId(),
                        trainer.model.name(),
                        trainer.kind);
            }
        }
        return classifiers;
    }

    /** The labelled training records, in memory. */
    private DataSet labelled(StreamDataSetIterator train) {
        List<DataSet> batches = new ArrayList<>();
        train.reset();
        while (train.hasNext()) {
            checkCancelled();
            batches.add(train.next().copy());
        }
        return DataSet.merge(batches);
    }

    /** What one pseudo-label round did: the training records after it, the unlabelled ones left, how many it took. */
    private record Round(DataSet combined, INDArray left, int chosen) {}

    /**
     * One pseudo-label round of a classifier: predicts {@code remaining}, adds the records at or above the confidence
     * with their predicted class to {@code combined}, fits it for the spec's epochs, evaluates the validation split and
     * records the round as an epoch.
     *
     * @return the round, or {@code null} when no record reaches the confidence (nothing is fitted) or the model failed
     */
    private Round pseudoLabelRound(
            ModelTrainer trainer,
            LabelPlan labels,
            io.kafkaml.training.SemiSupervisedSpec semi,
            INDArray remaining,
            DataSet combined,
            String step,
            int round,
            long pseudoLabelledBefore,
            StreamDataSetIterator validation,
            boolean hasValidation) {
        TrainingSpec spec = job.spec();
        int n = (int) remaining.size(0);
        List<INDArray> outputs = new ArrayList<>();
        for (int from = 0; from < n; from += spec.evaluationBatchSize()) {
            checkCancelled();
            int to = Math.min(n, from + spec.evaluationBatchSize());
            outputs.add(trainer.predict(remaining.get(
                    org.nd4j.linalg.indexing.NDArrayIndex.interval(from, to),
                    org.nd4j.linalg.indexing.NDArrayIndex.all())));
        }
        INDArray predicted = outputs.size() == 1 ? outputs.get(0) : Nd4j.vstack(outputs);
        int columns = (int) predicted.size(1);
        float[] probabilities = predicted.dup('c').data().asFloat();
        List<Long> chosen = new ArrayList<>();
        List<Long> left = new ArrayList<>();
        List<Integer> classes = new ArrayList<>();
        for (int row = 0; row < n; row++) {
            int best;
            double confidence;
            if (columns == 1) { // one sigmoid output: class 1 from the decision threshold on
                double p = probabilities[row];
                best = p >= spec.decisionThreshold() ? 1 : 0;
                confidence = Math.max(p, 1 - p);
            } else {
                best = 0;
                for (int c = 1; c < columns; c++) {
                    if (probabilities[row * columns + c] > probabilities[row * columns + best]) {
                        best = c;
                    }
                }
                confidence = probabilities[row * columns + best];
            }
            if (confidence >= semi.confidence()) {
                chosen.add((long) row);
                classes.add(best);
            } else {
                left.add((long) row);
            }
        }
        if (chosen.isEmpty()) {
            log.info(
                    "[{}] model {} {}: no unlabelled record reaches confidence {}; its pseudo-labelling stops",
                    job.deploymentId(),
                    trainer.model.name(),
                    step,
                    semi.confidence());
            return null;
        }
        INDArray features =
                remaining.getRows(chosen.stream().mapToInt(Long::intValue).toArray());
        DataSet grown = DataSet.merge(List.of(combined, new DataSet(features, pseudoLabels(labels, trainer, classes))));
        INDArray rest = left.isEmpty()
                ? null
                : remaining.getRows(left.stream().mapToInt(Long::intValue).toArray());
        long begin = System.nanoTime();
        for (int epoch = 1; epoch <= spec.epochs() && trainer.active(); epoch++) {
            grown.shuffle(spec.seed() + 1000L * round + epoch);
            int batchStep = 0;
            for (DataSet batch : grown.batchBy(spec.batchSize())) {
                checkCancelled();
                trainer.fit(batch, epoch, batchStep++);
                if (!trainer.active()) {
                    break;
                }
            }
        }
        if (!trainer.active()) {
            return null;
        }
        long millis = (System.nanoTime() - begin) / 1_000_000;
        Map<String, Double> metrics =
                hasValidation ? evaluate(List.of(validation), List.of(trainer)).get(trainer) : Map.of();
        log.info(
                "[{}] model {} semi-supervised {}: {} records pseudo-labelled at confidence >= {} ({} in all), trained "
                        + "on {} records, {} unlabelled left",
                job.deploymentId(),
                trainer.model.name(),
                step,
                chosen.size(),
                semi.confidence(),
                pseudoLabelledBefore + chosen.size(),
                grown.numExamples(),
                rest == null ? 0 : rest.size(0));
        trainer.endEpoch(trainer.epochCount + 1, metrics, millis, hasValidation, grown.numExamples(), Map.of());
        return new Round(grown, rest, chosen.size());
    }

    /** Pseudo-labels laid out as this model's labels are: one-hot rows, class indices, or a 0/1 column. */
    private static INDArray pseudoLabels(LabelPlan labels, ModelTrainer trainer, List<Integer> classes) {
        int k = classes.size();
        if (labels.indexClasses() > 0 || trainer.outputs == 1) {
            INDArray column = Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.FLOAT, k, 1);
            for (int i = 0; i < k; i++) {
                column.putScalar(i, 0, classes.get(i));
            }
            return column;
        }
        INDArray oneHot = Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.FLOAT, k, trainer.outputs);
        for (int i = 0; i < k; i++) {
            oneHot.putScalar(i, classes.get(i), 1.0);
        }
        return oneHot;
    }

    /**
     * The features of the unlabelled slices, flat {@code [records, features]}, normalized as the labelled ones; their
     * keys are not read (Kafka-ML's unsupervised sink writes a dummy label 0).
     */
    private INDArray readUnlabelled(ControlMessage message, DataNormalization normalizer) {
        long total = message.unsupervisedSlices().stream()
                .mapToLong(io.kafkaml.stream.StreamSlice::size)
                .sum();
        ControlMessage unlabelled = message.toBuilder()
                .slices(message.unsupervisedSlices())
                .field(ControlMessage.UNSUPERVISED_TOPIC, null)
                .totalMessages(total)
                .validationRate(0)
                .testRate(0)
                .build();
        io.kafkaml.format.RecordFormat base = RecordFormats.forName(message.inputFormat());
        io.kafkaml.format.RecordFormat featuresOnly = new io.kafkaml.format.RecordFormat() {
            @Override
            public String name() {
                return base.name();
            }

            @Override
            public RecordDecoder newDecoder(Map<String, ?> inputConfig) {
                RecordDecoder decoder = base.newDecoder(inputConfig);
                return new RecordDecoder() {
                    @Override
                    public int featureCount() {
                        return decoder.featureCount();
                    }

                    @Override
                    public long[] featureShape() {
                        return decoder.featureShape();
                    }

                    @Override
                    public int labelCount() {
                        return 1;
                    }

                    @Override
                    public long[] labelShape() {
                        return new long[0];
                    }

                    @Override
                    public void decodeFeatures(byte[] key, byte[] value, float[] features, int offset) {
                        decoder.decodeFeatures(key, value, features, offset);
                    }

                    @Override
                    public void decodeLabels(byte[] key, byte[] value, float[] labels, int offset) {
                        labels[offset] = 0; // unlabelled: whatever the key holds is not a label
                    }
                };
            }

            @Override
            public io.kafkaml.format.RecordEncoder newEncoder(Map<String, ?> inputConfig) {
                return base.newEncoder(inputConfig);
            }
        };
        try (StreamDataSets data = StreamDataSets.builder(clientConfig, unlabelled)
                .clientSupplier(clients)
                .format(featuresOnly)
                .batchSize(job.spec().evaluationBatchSize())
                .strictRecordCount(false)
                .cacheBudgetBytes(job.spec().cacheBudgetBytes())
                .badRecordPolicy(job.spec().badRecordPolicy())
                .build()) {
            if (normalizer != null) {
                data.normalize(normalizer);
            }
            StreamDataSetIterator records = data.train();
            List<INDArray> features = new ArrayList<>();
            long max = KafkaMlConfig.semiSupervisedMaxUnlabelled(clientConfig);
            long held = 0;
            while (records.hasNext() && held < max) {
                checkCancelled();
                INDArray batch = records.next().getFeatures();
                long rows = Math.min(batch.size(0), max - held);
                org.nd4j.linalg.indexing.INDArrayIndex[] firstRows =
                        new org.nd4j.linalg.indexing.INDArrayIndex[batch.rank()];
                java.util.Arrays.fill(firstRows, org.nd4j.linalg.indexing.NDArrayIndex.all());
                firstRows[0] = org.nd4j.linalg.indexing.NDArrayIndex.interval(0, rows);
                features.add(
                        rows == batch.size(0)
                                ? batch.dup()
                                : batch.get(firstRows).dup());
                held += rows;
            }
            if (held >= max && total > max) {
                log.warn(
                        "[{}] The unlabelled pool holds the first {} of {} unlabelled records ({}); the rest are not "
                                + "pseudo-labelled",
                        job.deploymentId(),
                        held,
                        total,
                        KafkaMlConfig.SEMI_SUPERVISED_MAX_UNLABELLED_CONFIG);
            }
            if (features.isEmpty()) {
                return null;
            }
            return features.size() == 1 ? features.get(0) : Nd4j.vstack(features);
        }
    }

    // ---- incremental (windowed) training of an unbounded stream ----

    /**
     * Finds the checkpoints of an incremental run this runner continues (a worker restarted after a crash): the window
     * every model has a checkpoint of (the latest they all reached; a checkpoint is deleted only after the next one of
     * every model is committed). Each model takes its checkpoint's summary, so that the results it publishes while it
     * waits for its control message still point at the checkpoint.
     *
     * @return the window resumed from, 0 for none
     */
    private int resume(List<ModelTrainer> trainers) {
        int window = Integer.MAX_VALUE;
        Map<ModelTrainer, TrainingResult> results = new LinkedHashMap<>();
        for (ModelTrainer trainer : trainers) {
            TrainingResult result = registry.result(trainer.resultId).orElse(null);
            if (result == null || result.status().isTerminal() || result.epochCount() < 1) {
                return 0; // nothing of an incremental run to continue (a first start, or a bounded run)
            }
            // the newest checkpoint that exists: the result may name a window whose checkpoint was not stored yet
            // (a kill between its fit and its checkpoint); the one before is kept until the next one is committed
            int found = 0;
            // (a kill after a checkpoint was stored and before the result said so: the window after it)
            for (int w = result.epochCount() + 1; w >= Math.max(1, result.epochCount() - 2) && found == 0; w--) {
                if (registry.artifact(Checkpoint.id(trainer.resultId, w)).isPresent()) {
                    found = w;
                }
            }
            if (found == 0) {
                log.warn(
                        "[{}] model {} has trained {} window(s) but none of the checkpoints of windows {}..{} exists; "
                                + "the incremental run starts again from an untrained model",
                        job.deploymentId(),
                        trainer.model.name(),
                        result.epochCount(),
                        Math.max(1, result.epochCount() - 2),
                        result.epochCount());
                return 0;
            }
            if (found < result.epochCount()) {
                log.info(
                        "[{}] model {}: its result names window {} but the newest checkpoint is of window {}",
                        job.deploymentId(),
                        trainer.model.name(),
                        result.epochCount(),
                        found);
            }
            results.put(trainer, result);
            window = Math.min(window, found);
        }
        if (trainers.isEmpty()) {
            return 0;
        }
        Map<ModelTrainer, Checkpoint> checkpoints = new LinkedHashMap<>();
        for (ModelTrainer trainer : trainers) {
            String checkpointId = Checkpoint.id(trainer.resultId, window);
            if (registry.artifact(checkpointId).isEmpty()) {
                log.warn(
                        "[{}] model {} has no checkpoint of window {}; the incremental run starts again",
                        job.deploymentId(),
                        trainer.model.name(),
                        window);
                return 0;
            }
            checkpoints.put(trainer, Checkpoint.fromBytes(registry.loadArtifact(checkpointId), checkpointId));
        }
        for (ModelTrainer trainer : trainers) {
            Checkpoint checkpoint = checkpoints.get(trainer);
            TrainingResult result = results.get(trainer);
            // the ones a kill left behind (older, or newer than the window every model has): never read again
            trainer.sweepCheckpoints(result.epochCount() + 1, window);
            trainer.resume = checkpoint;
            trainer.epochCount = checkpoint.window();
            trainer.lastEpoch = result.lastEpoch();
            trainer.bestEpoch = result.bestEpoch();
            // the result names the promoted version's model, never the checkpoint's (deleted two windows on)
            trainer.windowed = true;
            registry.syncVersions();
            trainer.pointAtPromoted();
            trainer.normalizerArtifact = checkpoint.normalizer();
            trainer.runId = checkpoint.run();
            trainer.metricsStart = checkpoint.metricsStart();
            trainer.appendedUpTo = appendedWindows(trainer, checkpoint);
            log.info(
                    "[{}] model {} resumes its incremental run after window {} ({} records fitted, offsets {})",
                    job.deploymentId(),
                    trainer.model.name(),
                    checkpoint.window(),
                    checkpoint.records(),
                    checkpoint.offsets());
        }
        return window;
    }

    /**
     * The newest window of a checkpoint's run that has a record in the metrics topic: a window fitted again after a
     * restart (its record was written before the kill, its checkpoint was not) is not recorded twice. 0 when unknown.
     */
    private int appendedWindows(ModelTrainer trainer, Checkpoint checkpoint) {
        if (checkpoint.metricsStart() == null) {
            return 0;
        }
        int[] newest = {0};
        try {
            registry.readEpochs(trainer.resultId, checkpoint.metricsStart(), (recordRun, epoch) -> {
                if (checkpoint.run().equals(recordRun)) {
                    newest[0] = Math.max(newest[0], epoch.epoch());
                }
            });
        } catch (RuntimeException e) {
            log.warn(
                    "[{}] model {}: cannot read its window records ({}); a window fitted again is recorded again",
                    job.deploymentId(),
                    trainer.model.name(),
                    reason(e));
        }
        return newest[0];
    }

    /** The network of a model's checkpoint, with its updater state. */
    private Model restoreNetwork(ModelTrainer trainer) {
        // bounded by the registry's limits before anything large is allocated (a forged checkpoint is refused)
        return registry.loadNetwork(
                trainer.resume.model(), trainer.model, true, "the checkpoint of model '" + trainer.model.name() + "'");
    }

    /**
     * Trains models on an unbounded topic in windows (see {@link IncrementalSpec}): for each window, prequential
     * metrics of the model as it was, then fitting on its training records, hold-out metrics, one record in the
     * metrics topic, the promotion decision, a checkpoint, and only then the commit of its offsets.
     */
    private void trainIncremental(ControlMessage message, LabelPlan labels, List<ModelTrainer> trainers) {
        IncrementalSpec incremental = job.spec().incrementalOrDefault();
        String topic = message.unboundedTopic().orElseThrow();
        // from the configuration's models, not the ones still training: the same group after any restart
        String group = incremental.groupIdFor(
                job.deploymentId(),
                job.models().stream().map(ModelDefinition::name).toList());
        Checkpoint resumed = trainers.get(0).resume;
        DataNormalization normalizer = null;
        if (resumed != null && resumed.normalizer() != null) {
            try {
                normalizer = NormalizerSerializer.getDefault()
                        .restore(new java.io.ByteArrayInputStream(registry.loadArtifact(resumed.normalizer())));
            } catch (Exception e) {
                throw new io.kafkaml.common.KafkaMlException(
                        "The normalizer '" + resumed.normalizer()
                                + "' of the incremental checkpoint cannot be restored: " + reason(e),
                        e);
            }
        }
        for (ModelTrainer trainer : trainers) {
            trainer.windowed = true;
            // the newest trainer of a result wins: one that trained it before (a zombie) sees it lost and stops
            registry.claimTraining(trainer.resultId, run);
            trainer.start(normalizer);
        }
        stageHook.accept("started");
        if (job.spec().earlyStoppingMetric() != null) {
            log.warn("[{}] Early stopping does not apply to an incremental run; it is off", job.deploymentId());
        }
        int window = resumed == null ? 0 : resumed.window();
        long records = resumed == null ? 0 : resumed.records();
        long pendingBad = 0; // bad records of windows with no valid record: counted in the next window's record
        try (WindowReader reader =
                        new WindowReader(clientConfig, clients, topic, group, incremental, job.deploymentId());
                DeadLetters deadLetters = new DeadLetters(incremental.deadLetterTopic())) {
            if (!reader.assign(cancelled::get)) {
                for (ModelTrainer trainer : trainers) {
                    trainer.error = "topic '" + topic + "' of the incremental stream did not appear within the "
                            + "stream timeout of " + incremental.streamTimeout().toMillis() + " ms";
                    trainer.publish(DeploymentStatus.FAILED);
                }
                return;
            }
            if (resumed != null) {
                reader.seek(resumed.next());
            } else {
                // a new group: by default not the older streams of a shared topic (IncrementalSpec.startFrom)
                reader.start(incremental.startFrom(), message.recordTimestamp());
            }
            while (incremental.maxWindows() == 0 || window < incremental.maxWindows()) {
                List<ModelTrainer> active =
                        trainers.stream().filter(ModelTrainer::active).toList();
                if (active.isEmpty()) {
                    break;
                }
                WindowReader.Window next = reader.next(cancelled::get);
                if (next == null) {
                    log.info(
                            "[{}] No record on topic '{}' for {} ms: the incremental run ends after {} windows",
                            job.deploymentId(),
                            topic,
                            incremental.streamTimeout().toMillis(),
                            window);
                    break;
                }
                if (fenced(active)) {
                    break; // a newer trainer owns the results and the group's offsets: nothing more is recorded
                }
                for (ModelTrainer trainer : active) {
                    if (trainer.status != DeploymentStatus.TRAINING) {
                        trainer.publish(DeploymentStatus.TRAINING); // a window arrived: no longer waiting for data
                    }
                }
                WindowFit fit;
                try {
                    fit = fitWindow(message, labels, active, next, window + 1, normalizer, incremental, pendingBad);
                } catch (io.kafkaml.format.RecordDecodeException e) { // FAIL: never trains on part of a window
                    throw new io.kafkaml.common.KafkaMlException(
                            "a bad record in window " + (window + 1) + " (" + StreamSlice.formatList(next.slices())
                                    + "), under the incremental bad-record policy FAIL: " + e.getMessage()
                                    + "; the window's offsets are not committed (the policy SKIP, the default for "
                                    + "an incremental run, leaves bad records out and goes on)",
                            e);
                }
                normalizer = fit.normalizer();
                deadLetters.send(fit.bad()); // before the commit: a restart before it writes them again
                if (fit.fitted() == 0) {
                    pendingBad += fit.bad().size();
                    BadRecord first = fit.bad().get(0);
                    log.warn(
                            "[{}] The {} records of {} are all bad (the first: {}); nothing is fitted, their offsets "
                                    + "are committed{}",
                            job.deploymentId(),
                            next.records(),
                            StreamSlice.formatList(next.slices()),
                            first.error().getMessage(),
                            incremental.deadLetterTopic() == null
                                    ? ""
                                    : " after they were written to '" + incremental.deadLetterTopic() + "'");
                    reader.commit(next.next());
                    stageHook.accept("skipped:" + (window + 1));
                    continue;
                }
                if (fenced(active)) {
                    break;
                }
                pendingBad = 0;
                window++;
                records += fit.fitted();
                stageHook.accept("fitted:" + window);
                for (ModelTrainer trainer : active) {
                    if (trainer.active()) {
                        trainer.checkpoint(window, next, records, incremental);
                    }
                }
                stageHook.accept("checkpointed:" + window);
                if (fenced(active)) {
                    break; // claimed while the window was recorded: the newer trainer's offsets are not moved
                }
                reader.commit(next.next()); // only now: every model's state after the window is recorded
                stageHook.accept("committed:" + window);
                for (ModelTrainer trainer : trainers) {
                    trainer.deleteCheckpoint(window - 1);
                }
            }
        } catch (CancellationException e) {
            throw new CancelledException();
        }
        for (ModelTrainer trainer : trainers) {
            if (!trainer.active()) {
                continue;
            }
            if (window == 0) {
                trainer.error = "no record arrived on topic '" + topic + "' within the stream timeout of "
                        + incremental.streamTimeout().toMillis() + " ms: nothing was trained";
                trainer.publish(DeploymentStatus.FAILED);
            } else {
                if (trainer.status == DeploymentStatus.WAITING_FOR_DATA) {
                    // resumed after its last window and none came: it trained (FINISHED only follows TRAINING)
                    trainer.publish(DeploymentStatus.TRAINING);
                }
                trainer.finish(Map.of(), null);
                if (trainer.status == DeploymentStatus.FINISHED) {
                    trainer.deleteCheckpoint(window);
                    trainer.pruneVersions(); // the result no longer names a version: only the retention decides
                }
            }
        }
    }

    /**
     * Whether a newer trainer claimed one of these results ({@link Registry#claimTraining}): then every model of this
     * runner stops where it is, records nothing more (no result, checkpoint, version or commit: they are the newer
     * trainer's) and its run ends; checked before a window is fitted and before it is recorded.
     */
    private boolean fenced(List<ModelTrainer> active) {
        for (ModelTrainer trainer : active) {
            String owner = registry.trainingClaimant(trainer.resultId).orElse(run);
            if (!owner.equals(run)) {
                log.error(
                        "[{}] model {}: a newer trainer ({}) claimed result {}; this one stops without recording "
                                + "anything more (run one trainer per result)",
                        job.deploymentId(),
                        trainer.model.name(),
                        owner,
                        trainer.resultId);
                for (ModelTrainer each : active) {
                    each.stopped = true;
                    each.fenced = true;
                }
                return true;
            }
        }
        return false;
    }

    /** A record of a window left out as bad, with the error that names it. */
    private record BadRecord(io.kafkaml.stream.StreamRecord record, io.kafkaml.format.RecordDecodeException error) {}

    /**
     * What fitting one window did: the normalizer after it, its valid records (0: nothing was fitted), its bad records
     * in stream order, each once.
     */
    private record WindowFit(DataNormalization normalizer, long fitted, List<BadRecord> bad) {}

    /**
     * Fits one window: its records are read again through their slices (the decoders, splits, normalization and
     * layouts of a bounded stream), evaluated by the models as they are (prequential), split by the stream's
     * {@code validation_rate}, fitted for the spec's epochs and evaluated on the hold-out. Bad records follow the
     * incremental policy: under SKIP every one is found before anything is fitted (the window's cache, or a pass), and
     * a window with no valid record is not fitted, evaluated or recorded.
     *
     * @param pendingBad bad records of earlier windows with no valid record, counted in this window's record
     * @return the normalizer (fitted on the first window's training records when the spec asks for one), the records
     *     fitted and the bad ones
     * @throws io.kafkaml.format.RecordDecodeException at the first bad record, under the policy FAIL
     */
    private WindowFit fitWindow(
            ControlMessage message,
            LabelPlan labels,
            List<ModelTrainer> active,
            WindowReader.Window window,
            int number,
            DataNormalization normalizer,
            IncrementalSpec incremental,
            long pendingBad) {
        TrainingSpec spec = job.spec();
        ControlMessage windowMessage = message.toBuilder()
                .slices(window.slices())
                .totalMessages(window.records())
                .incremental(false)
                .build();
        Map<String, BadRecord> bad = new LinkedHashMap<>();
        StreamDataSets.Builder builder = StreamDataSets.builder(clientConfig, windowMessage)
                .clientSupplier(clients)
                .batchSize(spec.batchSize())
                .shuffle(spec.shuffle())
                .seed(spec.seed() + number)
                .splitOrder(spec.splitOrder())
                .cacheBudgetBytes(spec.cacheBudgetBytes())
                .badRecordPolicy(incremental.badRecordPolicy())
                .badRecordHandler((record, error) -> bad.putIfAbsent(
                        record.topic() + "-" + record.partition() + "@" + record.offset(),
                        new BadRecord(record, error)));
        if (labels.oneHotClasses() > 0) {
            builder.oneHotLabels(labels.oneHotClasses());
        } else if (labels.indexClasses() > 0) {
            builder.classIndexLabels(labels.indexClasses());
        }
        try (StreamDataSets data = builder.build()) {
            data.splitSize(io.kafkaml.dataset.DataSplit.TRAIN); // reads and decodes the window when it fits the cache
            if (!data.cached()) { // one pass over every split finds the bad records before anything is fitted
                for (io.kafkaml.dataset.DataSplit split : io.kafkaml.dataset.DataSplit.values()) {
                    StreamDataSetIterator records = data.iterator(split);
                    while (records.hasNext()) {
                        checkCancelled();
                        records.next();
                    }
                }
            }
            List<BadRecord> badRecords = List.copyOf(bad.values());
            long fitted = window.records() - badRecords.size();
            if (fitted <= 0) {
                return new WindowFit(normalizer, 0, badRecords);
            }
            StreamDataSetIterator train = data.train();
            if (normalizer == null
                    && spec.normalization() != io.kafkaml.training.Normalization.NONE
                    && hasRows(train)) {
                normalizer = fitNormalizer(train);
                for (ModelTrainer trainer : active) {
                    trainer.normalizer = normalizer;
                }
            }
            if (normalizer != null) {
                data.normalize(normalizer);
            }
            boolean hasValidation =
                    data.splitSize(io.kafkaml.dataset.DataSplit.VALIDATION) > 0 && hasRows(data.validation());
            List<StreamDataSetIterator> all = new ArrayList<>();
            all.add(train);
            if (hasValidation) {
                all.add(data.validation());
            }
            if (data.splitSize(io.kafkaml.dataset.DataSplit.TEST) > 0) {
                all.add(data.test());
            }
            Map<ModelTrainer, Map<String, Double>> prequential = evaluate(all, active);
            long begin = System.nanoTime();
            for (int epoch = 1; epoch <= spec.epochs(); epoch++) {
                train.reset();
                int steps = 0;
                while (train.hasNext() && (spec.stepsPerEpoch() == 0 || steps < spec.stepsPerEpoch())) {
                    checkCancelled();
                    DataSet batch = train.next();
                    for (ModelTrainer trainer : active) {
                        if (trainer.active()) {
                            trainer.fit(batch, number, steps);
                        }
                    }
                    steps++;
                }
            }
            long millis = (System.nanoTime() - begin) / 1_000_000;
            Map<ModelTrainer, Map<String, Double>> holdout =
                    hasValidation ? evaluate(List.of(data.validation()), active) : Map.of();
            for (ModelTrainer trainer : active) {
                if (trainer.active()) {
                    trainer.endEpoch(
                            number,
                            holdout.getOrDefault(trainer, Map.of()),
                            millis,
                            hasValidation,
                            fitted,
                            prequential.getOrDefault(trainer, Map.of()),
                            pendingBad + badRecords.size());
                }
            }
            return new WindowFit(normalizer, fitted, badRecords);
        }
    }

    /** Whether an iterator has at least one row (it is reset before and after). */
    private static boolean hasRows(StreamDataSetIterator iterator) {
        iterator.reset();
        boolean rows = iterator.hasNext();
        iterator.reset();
        return rows;
    }

    /**
     * Copies an incremental run's bad records to its dead-letter topic, with the {@code kafkaml.dlq.*} headers an
     * inference replica writes (stage {@code DECODE}); waits for the broker before the window is committed. A copy the
     * producer refuses as too large is written without the record's key and value. Without a topic it does nothing.
     */
    private final class DeadLetters implements AutoCloseable {
        private final String topic;
        private org.apache.kafka.clients.producer.Producer<byte[], byte[]> producer;

        DeadLetters(String topic) {
            this.topic = topic;
        }

        void send(List<BadRecord> bad) {
            if (topic == null || bad.isEmpty()) {
                return;
            }
            if (producer == null) {
                producer = clients.producer(io.kafkaml.internals.ClientConfigs.producer(
                        clientConfig,
                        Map.of(
                                org.apache.kafka.clients.producer.ProducerConfig.CLIENT_ID_CONFIG,
                                "kafkaml-incremental-dlq-" + job.deploymentId(),
                                org.apache.kafka.clients.producer.ProducerConfig.ACKS_CONFIG,
                                "all"),
                        Map.of()));
            }
            List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
            for (BadRecord record : bad) {
                sent.add(producer.send(copy(record, true)));
            }
            for (int i = 0; i < bad.size(); i++) {
                try {
                    await(sent.get(i));
                } catch (java.util.concurrent.ExecutionException e) {
                    if (!(e.getCause() instanceof org.apache.kafka.common.errors.RecordTooLargeException)) {
                        throw failed(bad.get(i), e.getCause());
                    }
                    try {
                        await(producer.send(copy(bad.get(i), false)));
                    } catch (java.util.concurrent.ExecutionException again) {
                        throw failed(bad.get(i), again.getCause());
                    }
                }
            }
        }

        private void await(java.util.concurrent.Future<?> future) throws java.util.concurrent.ExecutionException {
            try {
                future.get(30, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CancelledException();
            } catch (java.util.concurrent.TimeoutException e) {
                throw new java.util.concurrent.ExecutionException(e);
            }
        }

        private io.kafkaml.common.KafkaMlException failed(BadRecord record, Throwable cause) {
            return new io.kafkaml.common.KafkaMlException(
                    "cannot write the bad record at " + record.record().topic() + "-"
                            + record.record().partition()
                            + "@" + record.record().offset() + " to the dead-letter topic '" + topic + "': "
                            + reason(cause) + "; the window's offsets are not committed",
                    cause);
        }

        private org.apache.kafka.clients.producer.ProducerRecord<byte[], byte[]> copy(BadRecord bad, boolean payload) {
            io.kafkaml.stream.StreamRecord record = bad.record();
            org.apache.kafka.common.header.internals.RecordHeaders headers =
                    new org.apache.kafka.common.header.internals.RecordHeaders();
            headers.add(KafkaMlConfig.DLQ_TOPIC_HEADER, utf8(record.topic()));
            headers.add(KafkaMlConfig.DLQ_PARTITION_HEADER, utf8(String.valueOf(record.partition())));
            headers.add(KafkaMlConfig.DLQ_OFFSET_HEADER, utf8(String.valueOf(record.offset())));
            headers.add(KafkaMlConfig.DLQ_STAGE_HEADER, utf8("DECODE"));
            headers.add(
                    KafkaMlConfig.DLQ_ERROR_CLASS_HEADER,
                    utf8(bad.error().getClass().getName()));
            headers.add(
                    KafkaMlConfig.DLQ_ERROR_MESSAGE_HEADER,
                    utf8(String.valueOf(bad.error().reason())
                            .replaceAll("\\s+", " ")
                            .trim()));
            if (!payload) {
                headers.add(
                        KafkaMlConfig.DLQ_PAYLOAD_OMITTED_HEADER,
                        utf8("the dead-letter copy was refused as too large"));
            }
            return new org.apache.kafka.clients.producer.ProducerRecord<>(
                    topic, null, payload ? record.key() : null, payload ? record.value() : null, headers);
        }

        private static byte[] utf8(String text) {
            return text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        }

        @Override
        public void close() {
            if (producer != null) {
                producer.close(Duration.ofSeconds(5));
            }
        }
    }

    /** Evaluates several models on one pass over each of {@code iterators}, as one evaluation. */
    private Map<ModelTrainer, Map<String, Double>> evaluate(
            List<StreamDataSetIterator> iterators, List<ModelTrainer> trainers) {
        Map<ModelTrainer, KindEvaluation> evaluations = new LinkedHashMap<>();
        for (ModelTrainer trainer : trainers) {
            evaluations.put(
                    trainer,
                    new KindEvaluation(trainer.kind, trainer.outputs, job.spec().decisionThreshold()));
        }
        for (StreamDataSetIterator iterator : iterators) {
            iterator.reset();
            while (iterator.hasNext()) {
                checkCancelled();
                DataSet batch = iterator.next(job.spec().evaluationBatchSize());
                for (ModelTrainer trainer : trainers) {
                    String steps = trainer.binding.layout().sequenceOutput();
                    evaluations
                            .get(trainer)
                            .add(
                                    stepsAsRows(trainer.binding.labels(batch.getLabels()), steps),
                                    stepsAsRows(trainer.predict(batch.getFeatures()), steps),
                                    trainer.score(batch),
                                    batch.numExamples());
                }
            }
        }
        Map<ModelTrainer, Map<String, Double>> results = new LinkedHashMap<>();
        evaluations.forEach((trainer, evaluation) -> results.put(trainer, evaluation.metrics()));
        return results;
    }

    private DataNormalization fitNormalizer(StreamDataSetIterator train) {
        DataNormalization normalizer = switch (job.spec().normalization()) {
            case NONE -> null;
            case STANDARDIZE -> new NormalizerStandardize();
            case MIN_MAX -> new NormalizerMinMaxScaler();
        };
        if (normalizer != null) {
            normalizer.fit(train);
            train.reset();
        }
        return normalizer;
    }

    /** Evaluates several models on one pass over {@code iterator}. */
    private Map<ModelTrainer, Map<String, Double>> evaluate(
            StreamDataSetIterator iterator, List<ModelTrainer> trainers, Map<ModelTrainer, long[][]> confusion) {
        iterator.reset();
        Map<ModelTrainer, KindEvaluation> evaluations = new LinkedHashMap<>();
        for (ModelTrainer trainer : trainers) {
            evaluations.put(
                    trainer,
                    new KindEvaluation(trainer.kind, trainer.outputs, job.spec().decisionThreshold()));
        }
        while (iterator.hasNext()) {
            checkCancelled();
            DataSet batch = iterator.next(job.spec().evaluationBatchSize());
            for (ModelTrainer trainer : trainers) {
                String steps = trainer.binding.layout().sequenceOutput();
                evaluations
                        .get(trainer)
                        .add(
                                stepsAsRows(trainer.binding.labels(batch.getLabels()), steps),
                                stepsAsRows(trainer.predict(batch.getFeatures()), steps),
                                trainer.score(batch),
                                batch.numExamples());
            }
        }
        Map<ModelTrainer, Map<String, Double>> results = new LinkedHashMap<>();
        for (ModelTrainer trainer : trainers) {
            KindEvaluation evaluation = evaluations.get(trainer);
            results.put(trainer, evaluation.metrics());
            if (confusion != null && evaluation.confusion() != null) {
                confusion.put(trainer, evaluation.confusion());
            }
        }
        return results;
    }

    /**
     * A model's per-step outputs or labels, {@code [batch, outputs, time]} (NCW) or {@code [batch, time, outputs]}
     * (NWC), as rows {@code [batch · time, outputs]}: one row per step, read by the evaluations (DL4J's axis 1) as
     * they read one output per record, whatever the format. Other arrays are returned as they are.
     */
    static INDArray stepsAsRows(INDArray array, String sequenceOutput) {
        if (sequenceOutput == null || array == null || array.rank() != 3) {
            return array;
        }
        INDArray nwc = RNNFormat.NWC.name().equals(sequenceOutput) ? array : array.permute(0, 2, 1);
        return nwc.dup('c').reshape('c', nwc.size(0) * nwc.size(1), nwc.size(2));
    }

    private void checkCancelled() {
        if (cancelled.get()) {
            throw new CancelledException();
        }
    }

    static String reason(Throwable e) {
        String message = e.getMessage();
        return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
    }

    /** Unwinds a runner that was asked to stop. */
    private static final class CancelledException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        CancelledException() {
            super("cancelled", null, false, false);
        }
    }

    /**
     * How a group of models wants the stream's labels: one-hot rows of {@code oneHotClasses}, class indices checked
     * against {@code indexClasses}, or (both 0) as decoded.
     */
    private record LabelPlan(int oneHotClasses, int indexClasses) {
        static final LabelPlan AS_DECODED = new LabelPlan(0, 0);
    }

    /**
     * One model's metrics over one evaluation pass, as its output kind calls for (see the class comment). Labels
     * of a multi-class model may be class indices {@code [batch, 1]}; they are one-hot encoded for ND4J's
     * {@link Evaluation} here, never for training.
     */
    static final class KindEvaluation {
        private final OutputKind kind;
        private final int outputs;
        private final double threshold;
        private final Evaluation classes;
        private final EvaluationBinary labels;
        private final RegressionEvaluation values;
        private double lossSum;
        private long rows;

        KindEvaluation(OutputKind kind, int outputs, double threshold) {
            this.kind = kind;
            this.outputs = outputs;
            this.threshold = threshold;
            this.classes = switch (kind) {
                case BINARY -> new Evaluation(2); // class 1 when the sigmoid output >= threshold, 2×2 matrix
                case MULTI_CLASS -> new Evaluation(outputs);
                default -> null;
            };
            float[] thresholds = new float[outputs];
            java.util.Arrays.fill(thresholds, (float) threshold);
            this.labels =
                    kind == OutputKind.MULTI_LABEL ? new EvaluationBinary(Nd4j.createFromArray(thresholds)) : null;
            this.values = classes == null && labels == null ? new RegressionEvaluation(outputs) : null;
        }

        void add(INDArray actual, INDArray predicted, double loss, int examples) {
            if (kind == OutputKind.BINARY) {
                // ND4J's own binary threshold counts class 1 only above it; serving counts it from the threshold on.
                float[] probability = predicted.dup('c').data().asFloat();
                float[] label = actual.dup('c').data().asFloat();
                INDArray predictedClass = Nd4j.zeros(predicted.dataType(), probability.length, 2);
                INDArray actualClass = Nd4j.zeros(predicted.dataType(), probability.length, 2);
                for (int i = 0; i < probability.length; i++) {
                    predictedClass.putScalar(i, probability[i] >= threshold ? 1 : 0, 1.0);
                    actualClass.putScalar(i, label[i] >= 0.5f ? 1 : 0, 1.0);
                }
                classes.eval(actualClass, predictedClass);
            } else if (classes != null) {
                if (actual.size(1) == 1 && outputs > 1) {
                    actual = oneHot(actual, outputs, predicted.dataType());
                }
                classes.eval(actual, predicted);
            } else if (labels != null) {
                labels.eval(actual, predicted);
            } else {
                values.eval(actual, predicted);
            }
            lossSum += loss * examples;
            rows += examples;
        }

        private static INDArray oneHot(INDArray indices, int classes, org.nd4j.linalg.api.buffer.DataType type) {
            float[] index = indices.dup('c').data().asFloat();
            INDArray encoded = Nd4j.zeros(type, index.length, classes);
            for (int i = 0; i < index.length; i++) {
                encoded.putScalar(i, (int) index[i], 1.0);
            }
            return encoded;
        }

        Map<String, Double> metrics() {
            Map<String, Double> metrics = new LinkedHashMap<>();
            metrics.put("loss", rows == 0 ? Double.NaN : lossSum / rows);
            if (classes != null) {
                metrics.put("accuracy", classes.accuracy());
                metrics.put("precision", classes.precision());
                metrics.put("recall", classes.recall());
                metrics.put("f1", classes.f1());
            } else if (labels != null) {
                metrics.put("accuracy", labels.averageAccuracy());
                metrics.put("precision", labels.averagePrecision());
                metrics.put("recall", labels.averageRecall());
                metrics.put("f1", labels.averageF1());
                for (int i = 0; i < outputs; i++) {
                    metrics.put("accuracy_" + i, labels.accuracy(i));
                    metrics.put("precision_" + i, labels.precision(i));
                    metrics.put("recall_" + i, labels.recall(i));
                    metrics.put("f1_" + i, labels.f1(i));
                }
            } else {
                metrics.put("mse", values.averageMeanSquaredError());
                metrics.put("mae", values.averageMeanAbsoluteError());
                metrics.put("rmse", values.averagerootMeanSquaredError());
                metrics.put("r2", values.averageRSquared());
                if (outputs > 1) {
                    for (int i = 0; i < outputs; i++) {
                        metrics.put("mse_" + i, values.meanSquaredError(i));
                        metrics.put("mae_" + i, values.meanAbsoluteError(i));
                        metrics.put("rmse_" + i, values.rootMeanSquaredError(i));
                        metrics.put("r2_" + i, values.rSquared(i));
                    }
                }
            }
            return metrics;
        }

        /** The confusion matrix {@code [actual][predicted]} of a binary or multi-class model, else {@code null}. */
        long[][] confusion() {
            if (classes == null) {
                return null;
            }
            int n = kind == OutputKind.BINARY ? 2 : outputs;
            // [actual][predicted]
            long[][] matrix = new long[n][n];
            for (int actual = 0; actual < n; actual++) {
                for (int predicted = 0; predicted < n; predicted++) {
                    matrix[actual][predicted] = classes.getConfusionMatrix() == null
                            ? 0
                            : classes.getConfusionMatrix().getCount(actual, predicted);
                }
            }
            return matrix;
        }
    }

    /** One model's network, progress and result (of which this runner is the one writer). */
    private final class ModelTrainer {
        final ModelDefinition model;
        final OutputKind kind;
        final int outputs;
        /** How this model takes the stream's records (null only when they do not fit it: then error says why). */
        InputLayout.Binding binding;

        final String resultId;
        Model network;
        LabelPlan labels = LabelPlan.AS_DECODED;
        DeploymentStatus status = DeploymentStatus.WAITING_FOR_DATA;
        String error;
        DataNormalization normalizer;
        double lossSum;
        int lossCount;
        long trainingMillis;
        Double best;
        int sinceBest;
        boolean stopped;
        long started;
        long lastPublished;
        long lastLogged;
        int epochCount;
        EpochMetrics lastEpoch;
        EpochMetrics bestEpoch;
        Map<String, Double> testMetrics = Map.of();
        long[][] confusion;
        String artifact;
        String normalizerArtifact;
        /** A windowed model's promoted version's model and normalizer: what its result names until it FINISHES. */
        String promotedArtifact;

        String promotedNormalizer;
        volatile Throwable metricsFailure;
        /** Where this run's first epoch record is in the metrics topic, once acknowledged. */
        volatile io.kafkaml.registry.MetricsPosition metricsStart;
        /** Where this run's last acknowledged epoch record is in the metrics topic. */
        volatile io.kafkaml.registry.MetricsPosition metricsLast;
        /** Whether every epoch appended was acknowledged when the result was last published (flush succeeded). */
        volatile boolean historyFlushed;
        /** The run under which epochs are appended: this runner's, or the resumed incremental run's. */
        String runId = run;
        /** Whether this model trains in windows of an unbounded stream (an epoch record is a window). */
        boolean windowed;
        /** The incremental checkpoint this model resumes from, or {@code null}. */
        Checkpoint resume;
        /** Whether a newer trainer took this model's result over: it records nothing more. */
        boolean fenced;
        /** The newest window of the resumed run already recorded in the metrics topic (not appended again). */
        int appendedUpTo;

        ModelTrainer(ModelDefinition model) {
            this.model = model;
            this.kind = model.summary().outputKind();
            this.outputs = (int) model.summary().outputSize();
            this.resultId = TrainingResult.idOf(job.deploymentId(), model.name());
        }

        /** Takes the network to train and checks it against the stream's records and labels. */
        void prepare(Model net, RecordDecoder decoder) {
            this.network = net;
            InputLayout.Binding bound = null;
            try {
                // Before any training: the stream's records must be this model's input (shapes named if not).
                bound = model.summary()
                        .inputLayout()
                        .bind(decoder.featureShape(), KafkaMlConfig.maxRecordValues(clientConfig));
                bound.check(network, model.name());
            } catch (InvalidModelException e) {
                error = e.getMessage();
            }
            this.binding = bound;
            int labelCount = decoder.labelCount();
            // A model with one output per time step takes a label per step.
            int steps = bound != null && model.summary().inputLayout().sequenceOutput() != null
                    ? (int) Math.max(1, bound.timeSteps())
                    : 1;
            boolean indexLoss = model.summary().classIndexLabels();
            if (!model.summary().trainable()) {
                error = "it cannot be trained: " + model.summary().lossProblem();
            } else if (labelCount == steps && outputs > 1 && (kind == OutputKind.MULTI_CLASS || indexLoss)) {
                // A class index per record (per step): one-hot rows for MCXENT/NLL, kept as indices for SPARSE_MCXENT.
                labels = indexLoss ? new LabelPlan(0, outputs) : new LabelPlan(outputs, 0);
            } else {
                if (indexLoss && error == null) {
                    error = "its loss (SPARSE_MCXENT) takes one class index per record" + (steps > 1 ? " and step" : "")
                            + ", but the stream's labels have " + labelCount + " values per record";
                } else if (labelCount != outputs * steps && error == null) {
                    error = "the model has " + outputs + " output" + (outputs == 1 ? "" : "s")
                            + (steps > 1 ? " per time step (" + steps + " steps)" : "") + " but the stream's "
                            + "labels have " + labelCount + " value" + (labelCount == 1 ? "" : "s") + " per record";
                }
            }
            if (network instanceof MultiLayerNetwork mln) {
                mln.setListeners();
            }
        }

        /**
         * Starts training: TRAINING, or for a model trained in windows WAITING_FOR_DATA until its first window arrives
         * (Kafka-ML's online sink sends the control message before any data, and an indefinite run may wait long).
         */
        void start(DataNormalization fitted) {
            this.normalizer = fitted;
            this.started = System.nanoTime();
            publish(windowed ? DeploymentStatus.WAITING_FOR_DATA : DeploymentStatus.TRAINING);
        }

        /**
         * Points what a model trained in windows publishes as its result's model at the result's promoted version
         * (what a deployment following the result serves), or at nothing before one is promoted: the model of a
         * window checkpoint is deleted once a later window is committed, so serving or exporting the result while the
         * run goes on would load an artifact that disappears (review S2-5).
         */
        void pointAtPromoted() {
            registry.promotedVersion(resultId).ifPresent(version -> {
                promotedArtifact = version.artifact().id();
                promotedNormalizer = version.normalizer() == null
                        ? null
                        : version.normalizer().id();
            });
        }

        /** Drops a resumed incremental state: the stream that arrived is bounded and trains from the start. */
        void forgetResume() {
            resume = null;
            epochCount = 0;
            lastEpoch = null;
            bestEpoch = null;
            artifact = null;
            normalizerArtifact = null;
            windowed = false;
            promotedArtifact = null;
            promotedNormalizer = null;
            runId = run;
            metricsStart = null;
            appendedUpTo = 0;
        }

        /**
         * After window {@code window} is fitted: decides on promotion (Kafka-ML's rule), then records the model, its
         * normalizer and the offsets after the window as checkpoint {@code window}, and publishes the result pointing
         * at it. A model whose checkpoint cannot be written ends FAILED with the reason.
         */
        void checkpoint(int window, WindowReader.Window read, long records, IncrementalSpec incremental) {
            // a model version is published before the checkpoint: after a crash between the two the window is fitted
            // again from the previous checkpoint, and promote() sees its offsets already published
            try {
                registry.flushEpochs(); // the window's metrics record is acknowledged, and the run's start known
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                ModelSerializer.writeModel(network, out, true); // with the updater: training goes on as it was
                byte[] modelBytes = out.toByteArray();
                if (normalizer != null && normalizerArtifact == null) {
                    ByteArrayOutputStream normalizerOut = new ByteArrayOutputStream();
                    NormalizerSerializer.getDefault().write(normalizer, normalizerOut);
                    normalizerArtifact = registry.storeArtifact(resultId + ".normalizer", normalizerOut.toByteArray())
                            .id();
                }
                promote(window, read, incremental);
                stageHook.accept("published:" + window);
                String modelId = registry.storeArtifact(Checkpoint.modelId(resultId, window), modelBytes)
                        .id();
                Checkpoint checkpoint = new Checkpoint(
                        window,
                        runId,
                        Checkpoint.offsets(read.next()),
                        modelId,
                        normalizerArtifact,
                        records,
                        metricsStart);
                registry.storeArtifact(Checkpoint.id(resultId, window), checkpoint.toBytes());
                pointAtPromoted(); // the result never names the checkpoint's model (deleted two windows on)
                publish(DeploymentStatus.TRAINING);
                pruneVersions(); // after the result names the newest promoted version, no longer the one before
            } catch (IOException | RuntimeException e) {
                error = "cannot record the checkpoint of window " + window + ": " + reason(e);
                publish(DeploymentStatus.FAILED);
            }
        }

        /**
         * Asks the promotion policy ({@link IncrementalSpec#promotionPolicy}: Kafka-ML's rule) whether this window's
         * model beats the result's promoted version; if so publishes it as a new version (model, normalizer, its
         * metrics: training {@code loss}, hold-out {@code val_*}, prequential {@code preq_*}; the offsets after the
         * window) and promotes it. A result pinned by a promotion by hand ({@link io.kafkaml.registry.Promotion#pinned})
         * gets the version published but not promoted (judged against its newest version instead). A window published
         * before a restart (the same offsets) is not published again; if the policy had it promoted and the kill came
         * between its version record and its promotion, it is promoted now (reconciled).
         */
        /**
         * Whether a newer trainer claimed this result since the last fence check (made after the fit): checked right
         * before a promotion, which moves serving, so that a fenced trainer never promotes (its window is then not
         * committed either: the runner checks the fence again before the commit).
         */
        private boolean claimedByAnother() {
            String owner = registry.trainingClaimant(resultId).orElse(run);
            if (owner.equals(run)) {
                return false;
            }
            log.error(
                    "[{}] model {}: a newer trainer ({}) claimed result {} while this one recorded a window; its "
                            + "version is not promoted",
                    job.deploymentId(),
                    model.name(),
                    owner,
                    resultId);
            fenced = true;
            stopped = true;
            return true;
        }

        private void promote(int window, WindowReader.Window read, IncrementalSpec incremental) {
            boolean holdout = !lastEpoch.validation().isEmpty();
            Map<String, Double> candidate = new java.util.TreeMap<>();
            if (Double.isFinite(lastEpoch.loss())) {
                candidate.put("loss", lastEpoch.loss());
            }
            addMetrics(candidate, "val_", lastEpoch.validation());
            addMetrics(candidate, "preq_", lastEpoch.prequential());
            Map<String, Long> seen = new java.util.TreeMap<>();
            read.next().forEach((partition, offset) -> seen.put(partition.toString(), offset));
            registry.syncVersions(); // a promotion by hand in another process a moment ago counts
            List<io.kafkaml.registry.ModelVersion> versions = registry.versions(resultId);
            java.util.Optional<io.kafkaml.registry.Promotion> last = registry.latestPromotion(resultId);
            boolean pinned = last.map(io.kafkaml.registry.Promotion::pinned).orElse(false);
            java.util.Optional<io.kafkaml.registry.ModelVersion> published =
                    versions.stream().filter(v -> v.offsets().equals(seen)).findFirst();
            if (published.isPresent()) {
                // a runner killed after publishing this window and before its checkpoint fitted it again
                io.kafkaml.registry.ModelVersion version = published.get();
                boolean everPromoted =
                        registry.promotions(resultId).stream().anyMatch(p -> p.version() == version.version());
                if (!everPromoted
                        && !claimedByAnother()
                        && !pinned
                        && !version.reason().endsWith(NOT_PROMOTED_PINNED)
                        && last.map(p -> p.version() < version.version()).orElse(true)) {
                    registry.promote(
                            resultId, version.version(), "reconciled after a restart: " + version.reason(), false);
                    log.info(
                            "[{}] model {} window {} was published as version {} before a restart but not promoted; "
                                    + "promoted now",
                            job.deploymentId(),
                            model.name(),
                            window,
                            version.version());
                } else {
                    log.info(
                            "[{}] model {} window {} was already published as version {}; not published twice",
                            job.deploymentId(),
                            model.name(),
                            window,
                            version.version());
                }
                return;
            }
            java.util.Optional<Map<String, Double>> reference = pinned
                    ? (versions.isEmpty()
                            ? java.util.Optional.empty()
                            : java.util.Optional.of(
                                    versions.get(versions.size() - 1).metrics()))
                    : registry.promotedVersion(resultId).map(io.kafkaml.registry.ModelVersion::metrics);
            io.kafkaml.training.PromotionPolicy.Decision decision =
                    incremental.promotionPolicy(holdout).decide(candidate, reference);
            if (!decision.promote()) {
                log.info("[{}] model {} window {}: {}", job.deploymentId(), model.name(), window, decision.reason());
                return;
            }
            String reason = "window " + window + ": " + decision.reason();
            if (pinned) {
                io.kafkaml.registry.ModelVersion version = registry.publishVersion(
                        resultId, network, normalizer, candidate, read.next(), reason + NOT_PROMOTED_PINNED, false);
                log.info(
                        "[{}] model {} published version {} without promoting it: the result is pinned to version {} "
                                + "by a promotion by hand (kafkaml results unpin {} lets the policy promote again): {}",
                        job.deploymentId(),
                        model.name(),
                        version.version(),
                        last.get().version(),
                        resultId,
                        reason);
                return;
            }
            io.kafkaml.registry.ModelVersion version =
                    registry.publishVersion(resultId, network, normalizer, candidate, read.next(), reason, false);
            stageHook.accept("versioned:" + window);
            if (claimedByAnother()) {
                return; // its version stays published, unpromoted: serving is the newer trainer's to move
            }
            registry.promote(resultId, version.version(), reason, false);
            log.info(
                    "[{}] model {} promoted version {}: {}",
                    job.deploymentId(),
                    model.name(),
                    version.version(),
                    reason);
        }

        /**
         * The version retention ({@link Registry#pruneVersions}, {@value KafkaMlConfig#VERSIONS_RETAIN_CONFIG}): a
         * failure is logged, never ends the training (it is tried again after the next version).
         */
        void pruneVersions() {
            try {
                registry.pruneVersions(resultId, KafkaMlConfig.versionsRetain(clientConfig));
            } catch (RuntimeException e) {
                log.warn(
                        "[{}] model {}: the models of old versions were not deleted ({}); tried again after the next "
                                + "version",
                        job.deploymentId(),
                        model.name(),
                        reason(e));
            }
        }

        /**
         * Deletes the checkpoints of windows {@code from} down to 1 except {@code keep} (a kill between a checkpoint
         * and its commit, a failed or cancelled run leave some behind; each holds a whole model with its updater
         * state). Looks each id up in the registry's local view.
         */
        void sweepCheckpoints(int from, int keep) {
            for (int w = from; w >= 1; w--) {
                if (w != keep
                        && (registry.artifact(Checkpoint.id(resultId, w)).isPresent()
                                || registry.artifact(Checkpoint.modelId(resultId, w))
                                        .isPresent())) {
                    deleteCheckpoint(w);
                }
            }
        }

        /** Adds the finite whole-model metrics ({@code accuracy}, not per-label {@code accuracy_0}) under a prefix. */
        private static void addMetrics(Map<String, Double> into, String prefix, Map<String, Double> metrics) {
            metrics.forEach((name, value) -> {
                if (value != null && Double.isFinite(value) && !name.matches(".*_\\d+")) {
                    into.put(prefix + name, value);
                }
            });
        }

        /** Deletes checkpoint {@code window} (model and record) once a later one is committed, or the run ended. */
        void deleteCheckpoint(int window) {
            if (window < 1) {
                return;
            }
            for (String id : List.of(Checkpoint.modelId(resultId, window), Checkpoint.id(resultId, window))) {
                try {
                    if (registry.artifact(id).isPresent()) {
                        registry.deleteArtifact(id);
                    }
                } catch (RuntimeException e) {
                    log.warn(
                            "[{}] Cannot delete the old checkpoint artifact '{}': {}",
                            job.deploymentId(),
                            id,
                            reason(e));
                }
            }
        }

        boolean active() {
            return error == null && !stopped && !status.isTerminal();
        }

        /** The batch laid out for this model: features as the network takes them, labels per step if it needs. */
        DataSet laidOut(DataSet batch) {
            return new DataSet(binding.features(batch.getFeatures()), binding.labels(batch.getLabels()));
        }

        void fit(DataSet flat, int epoch, int step) {
            DataSet batch = laidOut(flat);
            double score;
            if (network instanceof MultiLayerNetwork mln) {
                mln.fit(batch);
                score = mln.score();
            } else {
                ((ComputationGraph) network).fit(batch);
                score = network.score();
            }
            if (Double.isNaN(score) || Double.isInfinite(score)) {
                error = "the training loss became " + score + " at epoch " + epoch + ", batch " + (step + 1)
                        + " (try a lower learning rate, or normalized features)";
                publish(DeploymentStatus.FAILED);
                return;
            }
            lossSum += score;
            lossCount++;
        }

        INDArray predict(INDArray flatFeatures) {
            INDArray features = binding.features(flatFeatures);
            return network instanceof MultiLayerNetwork mln
                    ? mln.output(features, false)
                    : ((ComputationGraph) network).outputSingle(false, features);
        }

        double score(DataSet flat) {
            DataSet batch = laidOut(flat);
            return network instanceof MultiLayerNetwork mln
                    ? mln.score(batch)
                    : ((ComputationGraph) network).score(batch);
        }

        void endEpoch(
                int epoch,
                Map<String, Double> validation,
                long millis,
                boolean hasValidation,
                long records,
                Map<String, Double> prequential) {
            endEpoch(epoch, validation, millis, hasValidation, records, prequential, 0);
        }

        void endEpoch(
                int epoch,
                Map<String, Double> validation,
                long millis,
                boolean hasValidation,
                long records,
                Map<String, Double> prequential,
                long badRecords) {
            EpochMetrics metrics = new EpochMetrics(
                    epoch,
                    lossCount == 0 ? Double.NaN : lossSum / lossCount,
                    validation,
                    millis,
                    records,
                    prequential,
                    badRecords);
            lossSum = 0;
            lossCount = 0;
            epochCount = epoch;
            lastEpoch = metrics;
            if (isBetter(metrics)) {
                bestEpoch = metrics;
            }
            trainingMillis = (System.nanoTime() - started) / 1_000_000;
            int total = windowed ? 0 : job.spec().epochs();
            if (windowed) {
                String watched = kind.isClassifier() ? "accuracy" : "mse";
                log.info(
                        "[{}] model {} window {}: {} records{}, loss {}{}{}",
                        job.deploymentId(),
                        model.name(),
                        epoch,
                        records,
                        badRecords == 0 ? "" : " (" + badRecords + " bad left out)",
                        String.format("%.4f", metrics.loss()),
                        prequential.containsKey(watched)
                                ? String.format(", prequential %s %.4f", watched, prequential.get(watched))
                                : "",
                        validation.containsKey(watched)
                                ? String.format(", hold-out %s %.4f", watched, validation.get(watched))
                                : "");
            } else if (epoch == 1 || epoch == total || System.nanoTime() - lastLogged >= LOG_INTERVAL_NANOS) {
                lastLogged = System.nanoTime();
                long eta = trainingMillis * (total - epoch) / epoch;
                String watched = kind.isClassifier() ? "accuracy" : "mse";
                log.info(
                        "[{}] model {} epoch {}/{} loss {}{} ETA {}",
                        job.deploymentId(),
                        model.name(),
                        epoch,
                        total,
                        String.format("%.4f", metrics.loss()),
                        validation.containsKey(watched)
                                ? String.format(" validation %s %.4f", watched, validation.get(watched))
                                : "",
                        Duration.ofMillis(eta).toString().substring(2).toLowerCase(java.util.Locale.ROOT));
            }
            Throwable failed = metricsFailure;
            if (failed != null) { // an earlier epoch's record was refused: fail once, with the reason, no retry
                error = "cannot write the epoch metrics to topic '" + registry.metricsTopic() + "': " + reason(failed);
                publish(DeploymentStatus.FAILED);
                return;
            }
            if (windowed && epoch <= appendedUpTo) {
                log.info(
                        "[{}] model {} window {} was recorded in the metrics topic before the restart; not recorded twice",
                        job.deploymentId(),
                        model.name(),
                        epoch);
            } else {
                appendEpoch(metrics);
            }
            try {
                listener.onEpoch(job.deploymentId(), model.name(), metrics, total);
            } catch (RuntimeException e) {
                // a user's listener is told, not obeyed: its failure never ends the training (review S3-1)
                log.warn(
                        "[{}] A training listener failed on {} epoch {}: {}",
                        job.deploymentId(),
                        model.name(),
                        epoch,
                        e.toString());
            }
            if (!windowed && System.nanoTime() - lastPublished >= PUBLISH_INTERVAL_NANOS) {
                // live summary in the registry, at most once a second; a windowed trainer publishes its window
                // count only once the window's checkpoint is stored (checkpoint()), so that a restart finds it
                publish(DeploymentStatus.TRAINING);
            }
            String metric = job.spec().earlyStoppingMetric();
            if (!windowed && metric != null && hasValidation && validation.containsKey(metric)) {
                double value = validation.get(metric);
                boolean better = best == null || (TrainingSpec.lowerIsBetter(metric) ? value < best : value > best);
                if (better) {
                    best = value;
                    sinceBest = 0;
                } else if (++sinceBest >= job.spec().earlyStoppingPatience()) {
                    stopped = true;
                    log.info(
                            "[{}] model {} stops early at epoch {}: validation {} has not improved for {} epochs",
                            job.deploymentId(),
                            model.name(),
                            epoch,
                            metric,
                            sinceBest);
                }
            }
        }

        /** Appends a record to the metrics topic without waiting; its acknowledgement moves the run's positions. */
        private void appendEpoch(EpochMetrics metrics) {
            registry.appendEpoch(resultId, runId, metrics).whenComplete((position, e) -> {
                if (e != null && metricsFailure == null) {
                    metricsFailure = e;
                }
                if (position != null && (metricsStart == null || position.offset() < metricsStart.offset())) {
                    metricsStart = position; // the first epoch's (acknowledgements come in order; be sure anyway)
                }
                if (position != null && (metricsLast == null || position.offset() > metricsLast.offset())) {
                    metricsLast = position;
                }
            });
        }

        /** Whether {@code metrics} beats the best epoch by the early-stopping metric, the validation or training loss. */
        private boolean isBetter(EpochMetrics metrics) {
            if (bestEpoch == null) {
                return true;
            }
            String metric = job.spec().earlyStoppingMetric();
            if (metric == null || !metrics.validation().containsKey(metric)) {
                metric = metrics.validation().containsKey("loss") ? "loss" : null;
            }
            double value =
                    metric == null ? metrics.loss() : metrics.validation().get(metric);
            double bestValue =
                    metric == null ? bestEpoch.loss() : bestEpoch.validation().getOrDefault(metric, Double.NaN);
            if (Double.isNaN(bestValue)) {
                return !Double.isNaN(value);
            }
            return metric != null && !TrainingSpec.lowerIsBetter(metric) ? value > bestValue : value < bestValue;
        }

        void finish(Map<String, Double> testMetrics, long[][] confusion) {
            trainingMillis = (System.nanoTime() - started) / 1_000_000;
            registry.flushEpochs();
            if (metricsFailure != null) {
                error = "cannot write the epoch metrics to topic '" + registry.metricsTopic() + "': "
                        + reason(metricsFailure);
                publish(DeploymentStatus.FAILED);
                return;
            }
            io.kafkaml.registry.ModelVersion promoted = windowed ? finishedVersion() : null;
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try {
                if (promoted != null) { // the model the policy chose, not whatever the last window left
                    out.write(registry.loadArtifact(promoted.artifact().id()));
                } else {
                    ModelSerializer.writeModel(network, out, false);
                }
            } catch (IOException e) {
                error = "the trained model cannot be serialized: " + e.getMessage();
                publish(DeploymentStatus.FAILED);
                return;
            }
            String artifact = registry.storeArtifact(resultId + ".model", out.toByteArray())
                    .id();
            String normalizerArtifact = null;
            if (promoted != null) {
                if (promoted.normalizer() != null) {
                    normalizerArtifact = registry.storeArtifact(
                                    resultId + ".normalizer",
                                    registry.loadArtifact(promoted.normalizer().id()))
                            .id();
                }
            } else if (normalizer != null) {
                ByteArrayOutputStream normalizerOut = new ByteArrayOutputStream();
                try {
                    NormalizerSerializer.getDefault().write(normalizer, normalizerOut);
                } catch (IOException e) {
                    error = "the fitted normalizer cannot be serialized: " + e.getMessage();
                    publish(DeploymentStatus.FAILED);
                    return;
                }
                normalizerArtifact = registry.storeArtifact(resultId + ".normalizer", normalizerOut.toByteArray())
                        .id();
            }
            this.testMetrics = testMetrics;
            this.confusion = confusion;
            this.artifact = artifact;
            this.normalizerArtifact = normalizerArtifact;
            publish(DeploymentStatus.FINISHED);
        }

        /**
         * The version a model trained in windows FINISHES with: the result's promoted version (what serving follows,
         * chosen by the promotion policy or by hand), or {@code null} when none was promoted (then the last window's
         * model, said in the log).
         */
        private io.kafkaml.registry.ModelVersion finishedVersion() {
            registry.syncVersions();
            java.util.Optional<io.kafkaml.registry.ModelVersion> promoted = registry.promotedVersion(resultId);
            if (promoted.isPresent()) {
                log.info(
                        "[{}] model {} FINISHED after {} windows; its result's model is promoted version {}, not "
                                + "necessarily the last window's ({})",
                        job.deploymentId(),
                        model.name(),
                        epochCount,
                        promoted.get().version(),
                        promoted.get().reason());
            } else {
                log.warn(
                        "[{}] model {} FINISHED after {} windows with no promoted version; its result's model is the "
                                + "last window's",
                        job.deploymentId(),
                        model.name(),
                        epochCount);
            }
            return promoted.orElse(null);
        }

        TrainingResult summary(DeploymentStatus newStatus) {
            return new TrainingResult(
                    resultId,
                    job.deploymentId(),
                    model.name(),
                    newStatus,
                    List.of(),
                    testMetrics,
                    confusion,
                    trainingMillis,
                    windowed && newStatus != DeploymentStatus.FINISHED ? promotedArtifact : artifact,
                    windowed && newStatus != DeploymentStatus.FINISHED ? promotedNormalizer : normalizerArtifact,
                    error,
                    Instant.now(),
                    epochCount,
                    lastEpoch,
                    bestEpoch,
                    metricsStart,
                    metricsEnd(newStatus));
        }

        /** The end of the run's history, recorded only on this runner's terminal record once it is complete. */
        io.kafkaml.registry.MetricsPosition metricsEnd(DeploymentStatus newStatus) {
            return newStatus.isTerminal() && historyFlushed && metricsFailure == null && epochCount > 0
                    ? metricsLast
                    : null;
        }

        /**
         * Writes this model's result in {@code newStatus}. A write the registry refuses because another party ended
         * the result (a launcher cancelled it, a watcher saw the pod fail) stops this model as recorded. A write that
         * fails for another reason (a record the broker refuses, a broker out of reach) is not retried: the model ends
         * FAILED with that reason, recorded in a minimal result if that can still be written.
         */
        void publish(DeploymentStatus newStatus) {
            if (status.isTerminal() || fenced) { // a fenced trainer's result is the newer trainer's to write
                return;
            }
            lastPublished = System.nanoTime();
            historyFlushed = false;
            if ((newStatus.isTerminal() || (metricsStart == null && metricsFailure == null)) && epochCount > 0) {
                try {
                    // the history is complete in the metrics topic before the result ends, and the result knows
                    // where its run starts there from its first summary on (Registry.epochs reads from there)
                    registry.flushEpochs();
                    historyFlushed = true;
                } catch (RuntimeException e) {
                    log.warn(
                            "[{}] model {}: epoch metrics not flushed: {}",
                            job.deploymentId(),
                            model.name(),
                            reason(e));
                }
            }
            TrainingResult result = summary(newStatus);
            try {
                registry.putResult(result);
                status = newStatus;
            } catch (io.kafkaml.registry.IllegalStatusTransitionException e) {
                TrainingResult recorded = registry.result(resultId).orElse(null);
                status = recorded != null && recorded.status().isTerminal()
                        ? recorded.status()
                        : DeploymentStatus.FAILED;
                error = recorded != null && recorded.error() != null ? recorded.error() : e.getMessage();
                log.warn(
                        "[{}] model {} was ended {} by another party; it stops: {}",
                        job.deploymentId(),
                        model.name(),
                        status,
                        error);
                deploymentChanged();
                return;
            } catch (RuntimeException e) {
                error = "cannot record the result in the registry: " + reason(e);
                status = DeploymentStatus.FAILED;
                log.error("[{}] model {} FAILED: {}", job.deploymentId(), model.name(), error);
                TrainingResult failed = new TrainingResult(
                        resultId,
                        job.deploymentId(),
                        model.name(),
                        DeploymentStatus.FAILED,
                        List.of(),
                        Map.of(),
                        null,
                        trainingMillis,
                        null,
                        null,
                        error,
                        Instant.now(),
                        epochCount,
                        lastEpoch,
                        bestEpoch,
                        metricsStart,
                        metricsEnd(DeploymentStatus.FAILED));
                try {
                    registry.putResult(failed);
                } catch (RuntimeException again) {
                    log.error(
                            "[{}] model {}: FAILED cannot be recorded either: {}",
                            job.deploymentId(),
                            model.name(),
                            reason(again));
                }
                notifyResult(failed);
                deploymentChanged();
                return;
            }
            if (newStatus.isTerminal()) {
                notifyResult(result);
            }
            deploymentChanged();
        }
    }
}
