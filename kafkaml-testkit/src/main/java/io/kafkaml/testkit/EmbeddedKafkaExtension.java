package io.kafkaml.testkit;

import java.util.Objects;
import java.util.function.Consumer;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * A JUnit 5 extension that starts one {@link EmbeddedKafkaBroker} for a test class, shares it between
 * the class's tests and closes it after the last one. Tests receive it as a parameter:
 *
 * <pre>{@code
 * <p>Thread safety: JUnit calls it from its own threads; the broker it starts is shared by the class's tests as {@link
 * EmbeddedKafkaBroker} allows (thread-safe). Lifecycle: starts the broker before the first test of a class and closes
 * it after the last (JUnit's class-level store).
 *
 * @ExtendWith(EmbeddedKafkaExtension.class)
 * class MyStreamTest {
 *     @Test
 *     void reads(EmbeddedKafkaBroker kafka) {
 *         kafka.createTopic("in", 3);
 *     }
 * }
 * }</pre>
 *
 * To set broker properties, register it on a static field instead:
 *
 * <pre>{@code
 * @RegisterExtension
 * static final EmbeddedKafkaExtension KAFKA =
 *         EmbeddedKafkaExtension.configured(b -> b.brokerProperty("log.retention.check.interval.ms", "1000"));
 * }</pre>
 *
 * Nested test classes share their enclosing class's broker. The extension requires {@code junit-jupiter-api}
 * on the test class path (an optional dependency of the testkit).
 */
public final class EmbeddedKafkaExtension implements BeforeAllCallback, ParameterResolver {

    private static final ExtensionContext.Namespace NAMESPACE =
            ExtensionContext.Namespace.create(EmbeddedKafkaExtension.class);
    private static final String KEY = "broker";

    private final Consumer<EmbeddedKafkaBroker.Builder> customizer;

    /** An extension that starts a broker with the testkit's defaults. */
    public EmbeddedKafkaExtension() {
        this(builder -> {});
    }

    private EmbeddedKafkaExtension(Consumer<EmbeddedKafkaBroker.Builder> customizer) {
        this.customizer = Objects.requireNonNull(customizer, "customizer");
    }

    /** An extension whose broker is set up by {@code customizer} before it starts. */
    public static EmbeddedKafkaExtension configured(Consumer<EmbeddedKafkaBroker.Builder> customizer) {
        return new EmbeddedKafkaExtension(customizer);
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        broker(context);
    }

    /** Returns the broker of the test class running in {@code context}, starting it if needed. */
    public EmbeddedKafkaBroker broker(ExtensionContext context) {
        ExtensionContext classContext = outermostClassContext(context);
        return classContext
                .getStore(NAMESPACE)
                .getOrComputeIfAbsent(KEY, key -> new BrokerResource(start()), BrokerResource.class)
                .broker;
    }

    private EmbeddedKafkaBroker start() {
        EmbeddedKafkaBroker.Builder builder = EmbeddedKafkaBroker.builder();
        customizer.accept(builder);
        return builder.build().start();
    }

    private static ExtensionContext outermostClassContext(ExtensionContext context) {
        ExtensionContext current = context;
        while (current.getParent().isPresent()
                && current.getParent().get().getTestClass().isPresent()) {
            current = current.getParent().get();
        }
        return current;
    }

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext)
            throws ParameterResolutionException {
        return parameterContext.getParameter().getType() == EmbeddedKafkaBroker.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext)
            throws ParameterResolutionException {
        return broker(extensionContext);
    }

    /** Closed by JUnit when the class's store is closed. */
    private static final class BrokerResource implements AutoCloseable {
        private final EmbeddedKafkaBroker broker;

        BrokerResource(EmbeddedKafkaBroker broker) {
            this.broker = broker;
        }

        @Override
        public void close() {
            broker.close();
        }
    }
}
