package io.kafkaml.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.KafkaMl;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import io.kafkaml.training.TrainingSpec;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import javax.imageio.ImageIO;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The dashboard in a real headless Chromium at 1280×800 (Debian's {@code chromium} and {@code chromium-driver},
 * driven by Selenium through {@code /usr/bin/chromedriver}; Selenium downloads nothing), against a server on an
 * in-process broker: every page renders, the models page lists what the registry holds, the model form refuses bad
 * input in the page before anything is sent, every page's calls are answered by real routes (no error shown in a page),
 * a training deployment's page shows it waiting for data with its Cancel button, uPlot loads from its WebJar and draws a curve, the confusion matrix
 * renders as a heat map, and {@code /metrics} answers. A screenshot of each page is written to
 * {@code target/dashboard-*.png} and checked to be non-blank. Own Failsafe execution ({@code *BrowserIT}; alone:
 * {@code -Dkafkaml.its.skip=true}).
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class DashboardBrowserIT {

    static final String CHROMEDRIVER = System.getProperty("kafkaml.chromedriver", "/usr/bin/chromedriver");
    static final String CHROMIUM = System.getProperty("kafkaml.chromium", "/usr/bin/chromium");

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

            // a deployment's page reads /deployments/{id} and /deployments/results/{id}, and opens its event stream
            ml.configurations().create(new Configuration("dash-config", "", List.of("dash-mlp")));
            ml.train("dash-config", TrainingSpec.builder().epochs(1).build(), "dash-deployment");
            open(base + "#/deployments/dash-deployment");
            wait.until(d -> d.findElement(By.id("deployment-status")).getText().contains("WAITING_FOR_DATA"));
            assertThat(driver.findElements(By.cssSelector(".page-error"))).isEmpty();
            assertThat(driver.findElements(By.id("cancel-deployment"))).hasSize(1);

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

    private static org.deeplearning4j.nn.conf.MultiLayerConfiguration mlp() {
        return new NeuralNetConfiguration.Builder()
                .seed(1)
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
