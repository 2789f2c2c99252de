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
 * <p>Not thread-safe, except {@link #cancel()}, {@link #awaitEnd} and {@link #finalStatus()}.
 */
public final class TrainingRunner implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(TrainingRunner.class);
    private static final long PUBLISH_INTERVAL_NANOS = 1_000_000_000L;
    private static final long LOG_INTERVAL_NANOS = 10_000_000_000L;

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
            trainers.forEach(t -> t.publish(DeploymentStatus.WAITING_FOR_DATA));
            ControlMessage message = awaitControlMessage();
            if (message.incremental()) {
                throw new io.kafkaml.common.KafkaMlException("The control message for deployment '" + id
                        + "' announces an incremental (online) stream"
                        + message.unboundedTopic()
                                .map(t -> " on topic '" + t + "'")
                                .orElse("") + ", as Kafka-ML's online sink sends; kafkaml does not train on "
                        + "incremental streams yet: send a bounded stream (kafkaml send, a DataSink) instead");
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
                trainer.prepare(registry.newNetwork(trainer.model), decoder);
            }
            Map<LabelPlan, List<ModelTrainer>> groups = new LinkedHashMap<>();
            for (ModelTrainer trainer : trainers) {
                if (trainer.error == null) {
                    groups.computeIfAbsent(trainer.labels, k -> new ArrayList<>())
                            .add(trainer);
                    trainer.publish(DeploymentStatus.TRAINING); // its data arrived: reading the stream is training
                } else {
                    trainer.publish(DeploymentStatus.FAILED);
                }
            }
            for (Map.Entry<LabelPlan, List<ModelTrainer>> group : groups.entrySet()) {
                trainGroup(message, group.getKey(), group.getValue());
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
                    steps++;
                }
                long millis = (System.nanoTime() - begin) / 1_000_000;
                Map<ModelTrainer, Map<String, Double>> metrics =
                        hasValidation ? evaluate(validation, active, null) : new LinkedHashMap<>();
                for (ModelTrainer trainer : active) {
                    if (trainer.active()) {
                        trainer.endEpoch(epoch, metrics.getOrDefault(trainer, Map.of()), millis, hasValidation);
                    }
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
        volatile Throwable metricsFailure;
        /** Where this run's first epoch record is in the metrics topic, once acknowledged. */
        volatile io.kafkaml.registry.MetricsPosition metricsStart;
        /** Where this run's last acknowledged epoch record is in the metrics topic. */
        volatile io.kafkaml.registry.MetricsPosition metricsLast;
        /** Whether every epoch appended was acknowledged when the result was last published (flush succeeded). */
        volatile boolean historyFlushed;

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

        void start(DataNormalization fitted) {
            this.normalizer = fitted;
            this.started = System.nanoTime();
            publish(DeploymentStatus.TRAINING);
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

        void endEpoch(int epoch, Map<String, Double> validation, long millis, boolean hasValidation) {
            EpochMetrics metrics =
                    new EpochMetrics(epoch, lossCount == 0 ? Double.NaN : lossSum / lossCount, validation, millis);
            lossSum = 0;
            lossCount = 0;
            epochCount = epoch;
            lastEpoch = metrics;
            if (isBetter(metrics)) {
                bestEpoch = metrics;
            }
            trainingMillis = (System.nanoTime() - started) / 1_000_000;
            int total = job.spec().epochs();
            if (epoch == 1 || epoch == total || System.nanoTime() - lastLogged >= LOG_INTERVAL_NANOS) {
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
            registry.appendEpoch(resultId, run, metrics).whenComplete((position, e) -> {
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
            listener.onEpoch(job.deploymentId(), model.name(), metrics, total);
            if (System.nanoTime() - lastPublished >= PUBLISH_INTERVAL_NANOS) {
                publish(DeploymentStatus.TRAINING); // live summary in the registry, at most once a second
            }
            String metric = job.spec().earlyStoppingMetric();
            if (metric != null && hasValidation && validation.containsKey(metric)) {
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
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try {
                ModelSerializer.writeModel(network, out, false);
            } catch (IOException e) {
                error = "the trained model cannot be serialized: " + e.getMessage();
                publish(DeploymentStatus.FAILED);
                return;
            }
            String artifact = registry.storeArtifact(resultId + ".model", out.toByteArray())
                    .id();
            String normalizerArtifact = null;
            if (normalizer != null) {
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
                    artifact,
                    normalizerArtifact,
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
            if (status.isTerminal()) {
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
