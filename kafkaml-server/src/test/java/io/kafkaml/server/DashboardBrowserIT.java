package io.kafkaml.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.KafkaMl;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.sink.RecordDataSink;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The dashboard in a real headless Chromium at 1280×800 (Debian's {@code chromium} and {@code chromium-driver},
 * driven by Selenium through {@code /usr/bin/chromedriver}; Selenium downloads nothing), against a server on an
 * in-process broker. One test checks that every page renders, the models page lists what the registry holds, the model
 * form refuses bad input in the page before anything is sent, every page's calls are answered by real routes (no error
 * shown in a page), uPlot loads from its WebJar and draws a curve and the confusion matrix renders as a heat map; the
 * other is a user's whole flow from the pages (register, configure, deploy, watch the loss curve grow while the data
 * is sent, the confusion matrix, serve, counters, scale, stop, cancel a waiting deployment). A screenshot of each page
 * is written to {@code target/dashboard-*.png} and checked to be non-blank. Own Failsafe execution
 * ({@code *BrowserIT}; alone: {@code -Dkafkaml.its.skip=true}).
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class DashboardBrowserIT {

    static final String CHROMEDRIVER = System.getProperty("kafkaml.chromedriver", "/usr/bin/chromedriver");
    static final String CHROMIUM = System.getProperty("kafkaml.chromium", "/usr/bin/chromium");

    /** Epochs of the deployment the flow trains: enough for its loss curve to be seen growing. */
    private static final int EPOCHS = 40;

    private WebDriver driver;
    private WebDriverWait wait;

    @BeforeEach
    void startTheBrowser() {
        assertThat(new File(CHROMEDRIVER).canExecute())
                .as("Debian's chromium-driver at " + CHROMEDRIVER
                        + " (apt-get install chromium chromium-driver; .ci/run does it)")
                .isTrue();
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(CHROMEDRIVER))
                .usingAnyFreePort()
                .build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM);
        options.addArguments(
                "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,800");
        driver = new ChromeDriver(service, options);
        wait = new WebDriverWait(driver, Duration.ofSeconds(60), Duration.ofMillis(50));
        wait.ignoring(StaleElementReferenceException.class); // a page section re-rendered between a find and a read
    }

    @AfterEach
    void stopTheBrowser() {
        if (driver != null) {
            driver.quit();
        }
    }

    @Test
    void everyPageRendersAndTheModelFormRefusesBadInputBeforeSendingIt(EmbeddedKafkaBroker kafka) throws Exception {
        try (KafkaMl ml = KafkaMl.connect(kafka.clientConfig());
                KafkaMlServer server = KafkaMlServer.builder(ml).port(0).build().start()) {
            ml.models().register(ModelDefinition.of("dash-mlp", "two features, two classes", mlp()));
            String base = server.uri().toString();

            open(base + "#/models");
            wait.until(d -> !d.findElements(By.cssSelector("#models-table tr[data-model='dash-mlp']"))
                    .isEmpty());
            WebElement row = driver.findElement(By.cssSelector("#models-table tr[data-model='dash-mlp']"));
            assertThat(row.getText()).contains("dash-mlp").contains("two features, two classes");
            // the empty form and a configuration that is not JSON are refused in the page, at their fields
            click("model-form-submit");
            assertThat(text("model-form-name-error")).isEqualTo("Required");
            assertThat(text("model-form-configuration-error")).isEqualTo("Required");
            assertThat(driver.findElement(By.id("model-form-error")).isDisplayed())
                    .isTrue();
            driver.findElement(By.id("model-form-name")).sendKeys("bad name!");
            driver.findElement(By.id("model-form-configuration")).sendKeys("{not json");
            click("model-form-submit");
            assertThat(text("model-form-name-error")).startsWith("Letters, digits");
            assertThat(text("model-form-configuration-error")).startsWith("Not JSON");
            assertThat(ml.models().list()).extracting(ModelDefinition::name).containsExactly("dash-mlp");
            screenshot("models");

            for (String page : List.of("configurations", "deployments", "datasources", "inferences")) {
                open(base + "#/" + page);
                assertThat(driver.findElement(By.cssSelector("header nav a.active"))
                                .getAttribute("data-page"))
                        .isEqualTo(page);
                // every call the page made hit a real route and was answered (no error in place of a section)
                assertThat(driver.findElements(By.cssSelector(".page-error")))
                        .as(page + " page errors")
                        .extracting(WebElement::getText)
                        .isEmpty();
                screenshot(page);
            }

            // uPlot from its WebJar draws a loss curve; the confusion matrix renders as a heat map
            JavascriptExecutor js = (JavascriptExecutor) driver;
            assertThat(js.executeScript("return typeof uPlot")).isEqualTo("function");
            Object points = js.executeScript("const c = lineChart('Training loss', ['loss'], 'loss');"
                    + "document.getElementById('page').append(c.el);"
                    + "c.set([1, 2, 3], [[0.9, 0.5, 0.3]]);"
                    + "return [c.el.getAttribute('data-points'), c.el.querySelectorAll('canvas').length];");
            assertThat(points).isEqualTo(List.of("3", 1L));
            Object cells = js.executeScript("const t = heatMap([[50, 2], [3, 45]]);"
                    + "document.getElementById('page').append(t);"
                    + "return Array.from(t.querySelectorAll('td')).map(td => td.textContent);");
            assertThat(cells).isEqualTo(List.of("50", "2", "3", "45"));
            screenshot("components");

            HttpResponse<String> metrics = HttpClient.newHttpClient()
                    .send(
                            HttpRequest.newBuilder(URI.create(base + "metrics")).build(),
                            HttpResponse.BodyHandlers.ofString());
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.body()).contains("jvm_memory_used_bytes");
        }
    }

    /**
     * The user flow, every step through the pages: register a model from the models page, configure it, start
     * a training deployment from the deployments page, watch its loss curve grow while the test sends the data stream
     * (through the Java {@link RecordDataSink}, as a producer of the user's would), see the confusion matrix as a heat
     * map, start an inference deployment from the inference page, watch its counters while inputs flow, scale it and
     * stop it; then cancel a second deployment, still waiting for its data, from its page.
     */
    @Test
    void aUserTrainsWatchesServesScalesAndCancelsFromThePages(EmbeddedKafkaBroker kafka) throws Exception {
        Map<String, Object> settings = new HashMap<>(kafka.clientConfig());
        settings.put(KafkaMlConfig.REGISTRY_PREFIX_CONFIG, "flow");
        try (KafkaMl ml = KafkaMl.connect(settings);
                KafkaMlServer server = KafkaMlServer.builder(ml).port(0).build().start()) {
            String base = server.uri().toString();

            // register: the DL4J configuration pasted into the form
            open(base + "#/models");
            driver.findElement(By.id("model-form-name")).sendKeys("flow-mlp");
            driver.findElement(By.id("model-form-description")).sendKeys("two blobs");
            paste("model-form-configuration", mlp().toJson());
            click("model-form-submit");
            wait.until(d -> d.findElement(By.id("model-form-ok")).getText().contains("Registered flow-mlp"));
            wait.until(d -> !d.findElements(By.cssSelector("#models-table tr[data-model='flow-mlp']"))
                    .isEmpty());
            assertThat(ml.models().get("flow-mlp")).isPresent();
            screenshot("flow-models");

            open(base + "#/configurations");
            driver.findElement(By.id("configuration-form-name")).sendKeys("flow-config");
            new Select(driver.findElement(By.id("configuration-form-models"))).selectByValue("flow-mlp");
            click("configuration-form-submit");
            wait.until(
                    d -> d.findElement(By.id("configuration-form-ok")).getText().contains("Created flow-config"));
            assertThat(ml.configurations().get("flow-config").orElseThrow().models())
                    .containsExactly("flow-mlp");
            screenshot("flow-configurations");

            // deploy: the page goes to the deployment's own page, waiting for its data
            String deploymentId = deployFromThePage(base, "flow-config", EPOCHS);
            wait.until(d -> d.findElement(By.id("deployment-status")).getText().contains("WAITING_FOR_DATA"));
            assertThat(driver.findElement(By.id("cancel-deployment")).isDisplayed())
                    .isTrue();
            screenshot("flow-deployment-waiting");

            // the browser records every length the loss curve had; the data is sent while it watches
            String resultId = deploymentId + ".flow-mlp";
            JavascriptExecutor js = (JavascriptExecutor) driver;
            js.executeScript(
                    "window.kafkamlPoints = []; const id = 'loss-' + arguments[0];"
                            + "new MutationObserver(() => {"
                            + "  const c = document.getElementById(id);"
                            + "  const n = c ? Number(c.getAttribute('data-points')) : 0;"
                            + "  const seen = window.kafkamlPoints;"
                            + "  if (n > 0 && (seen.length === 0 || seen[seen.length - 1] !== n)) seen.push(n);"
                            + "}).observe(document.getElementById('page'), "
                            + "{subtree: true, childList: true, attributes: true, attributeFilter: ['data-points']});",
                    resultId);
            kafka.createTopic("flow-blobs", 1);
            Random random = new Random(5);
            try (RecordDataSink sink = ml.sink()
                    .format("JSON")
                    .inputConfig(Map.of("data_reshape", "2"))
                    .topic("flow-blobs")
                    .deploymentId(deploymentId)
                    .testRate(0.25)
                    .build()) {
                for (int i = 0; i < 200; i++) {
                    sink.send(new double[] {i % 2 * 3 + random.nextGaussian(), random.nextGaussian()}, i % 2);
                }
            }
            By loss = By.id("loss-" + resultId);
            wait.until(d -> points(d.findElement(loss)) > 0);
            screenshot("flow-deployment-training");
            wait.until(d -> d.findElement(By.id("deployment-status")).getText().contains("FINISHED"));
            wait.until(d -> points(d.findElement(loss)) == EPOCHS);
            @SuppressWarnings("unchecked")
            List<Long> lengths = (List<Long>) js.executeScript("return window.kafkamlPoints;");
            assertThat(lengths)
                    .as("the loss curve grew while it trained: the lengths it had")
                    .hasSizeGreaterThan(1)
                    .isSorted()
                    .endsWith((long) EPOCHS);
            By heatMap = By.cssSelector("table.heatmap td");
            wait.until(d -> d.findElement(By.id("confusion-" + resultId))
                            .findElements(heatMap)
                            .size()
                    == 4);
            long tested = driver.findElement(By.id("confusion-" + resultId)).findElements(heatMap).stream()
                    .mapToLong(td -> Long.parseLong(td.getText().trim()))
                    .sum();
            assertThat(tested).as("the test split's rows in the heat map").isEqualTo(50);
            assertThat(driver.findElements(By.cssSelector(".page-error"))).isEmpty();
            screenshot("flow-deployment-finished");

            // serve the trained model from the inference page, watch its counters, scale it, stop it
            kafka.createTopic("flow-in", 2);
            open(base + "#/inferences");
            new Select(driver.findElement(By.id("inference-form-resultId"))).selectByValue(resultId);
            driver.findElement(By.id("inference-form-inputTopic")).sendKeys("flow-in");
            driver.findElement(By.id("inference-form-outputTopic")).sendKeys("flow-out");
            click("inference-form-submit");
            wait.until(d -> d.findElement(By.id("inference-form-ok")).getText().startsWith("Started "));
            WebElement row = wait.until(d -> d.findElement(By.cssSelector("[data-inference]")));
            String inferenceId = row.getAttribute("data-inference");
            By replicas = By.cssSelector("[data-inference='" + inferenceId + "'] .replicas-count");
            By out = By.cssSelector("[data-inference='" + inferenceId + "'] .records-out");
            wait.until(d -> d.findElement(replicas).getText().equals("1"));
            try (KafkaProducer<byte[], byte[]> producer =
                    new KafkaProducer<>(kafka.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
                for (int i = 0; i < 20; i++) {
                    producer.send(new ProducerRecord<>(
                                    "flow-in", ("[" + (i % 2 * 3) + ", 0.0]").getBytes(StandardCharsets.UTF_8)))
                            .get();
                }
            }
            wait.until(d -> d.findElement(out).getText().equals("20"));
            WebElement count = driver.findElement(By.id("replicas-" + inferenceId));
            count.clear();
            count.sendKeys("2");
            click("scale-" + inferenceId);
            wait.until(d -> d.findElement(replicas).getText().equals("2"));
            assertThat(server.facade().registry().inference(inferenceId)).isPresent();
            screenshot("flow-inferences");
            click("stop-" + inferenceId);
            driver.switchTo().alert().accept(); // "Stop inference deployment ...?"
            wait.until(d -> d.findElement(By.cssSelector("[data-inference='" + inferenceId + "'] .inference-status"))
                    .getText()
                    .equals("STOPPED"));

            // a deployment still waiting for its data, cancelled from its page: the page and the registry say CANCELLED
            String waiting = deployFromThePage(base, "flow-config", 1);
            wait.until(d -> d.findElement(By.id("deployment-status")).getText().contains("WAITING_FOR_DATA"));
            click("cancel-deployment");
            wait.until(d -> d.findElement(By.id("deployment-status")).getText().contains("CANCELLED"));
            assertThat(ml.registry().deployment(waiting).orElseThrow().status()).isEqualTo(DeploymentStatus.CANCELLED);
            assertThat(driver.findElements(By.id("cancel-deployment"))).isEmpty();
            screenshot("flow-deployment-cancelled");
        }
    }

    /** Fills and submits the deployments page's form; returns the id of the deployment whose page it went to. */
    private String deployFromThePage(String base, String configuration, int epochs) {
        open(base + "#/deployments");
        new Select(driver.findElement(By.id("deployment-form-configuration"))).selectByValue(configuration);
        WebElement field = driver.findElement(By.id("deployment-form-epochs"));
        field.clear();
        field.sendKeys(String.valueOf(epochs));
        WebElement batch = driver.findElement(By.id("deployment-form-batchSize"));
        batch.clear();
        batch.sendKeys("16");
        click("deployment-form-submit");
        wait.until(d -> d.getCurrentUrl().contains("#/deployments/")
                && "true".equals(d.findElement(By.id("page")).getAttribute("data-ready")));
        String url = driver.getCurrentUrl();
        return java.net.URLDecoder.decode(url.substring(url.indexOf("#/deployments/") + 14), StandardCharsets.UTF_8);
    }

    private static int points(WebElement chart) {
        return Integer.parseInt(chart.getAttribute("data-points"));
    }

    /** Puts text into a field as a paste does (typing a DL4J configuration key by key would take seconds). */
    private void paste(String id, String text) {
        WebElement field = driver.findElement(By.id(id));
        ((JavascriptExecutor) driver)
                .executeScript(
                        "arguments[0].value = arguments[1];"
                                + "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
                        field,
                        text);
    }

    private static org.deeplearning4j.nn.conf.MultiLayerConfiguration mlp() {
        return new NeuralNetConfiguration.Builder()
                .seed(1)
                .updater(new Adam(0.05))
                .list()
                .layer(new DenseLayer.Builder()
                        .nIn(2)
                        .nOut(8)
                        .activation(Activation.TANH)
                        .build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                        .nIn(8)
                        .nOut(2)
                        .activation(Activation.SOFTMAX)
                        .build())
                .build();
    }

    private void open(String url) {
        driver.get(url);
        driver.navigate().refresh(); // a hash change alone does not reload the page
        wait.until(d -> "true".equals(d.findElement(By.id("page")).getAttribute("data-ready")));
    }

    private void click(String id) {
        driver.findElement(By.id(id)).click();
    }

    private String text(String id) {
        return driver.findElement(By.id(id)).getText().trim();
    }

    /** Writes target/dashboard-NAME.png and checks it is not blank (its pixels are not all one colour). */
    private void screenshot(String name) throws Exception {
        byte[] png = ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES);
        Path file = Path.of("target", "dashboard-" + name + ".png");
        Files.write(file, png);
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
        assertThat(image.getWidth()).as("1280 px wide").isBetween(1200, 1280);
        int first = image.getRGB(0, 0);
        long different = 0;
        for (int y = 0; y < image.getHeight(); y += 4) {
            for (int x = 0; x < image.getWidth(); x += 4) {
                if (image.getRGB(x, y) != first) {
                    different++;
                }
            }
        }
        assertThat(different).as(file + " is blank").isGreaterThan(1000);
    }
}
