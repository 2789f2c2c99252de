package io.kafkaml.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class StreamSliceTest {

    @Test
    void parsesAndFormatsKafkaMlSliceLists() {
        List<StreamSlice> slices = StreamSlice.parseList("hcopd:0:0:120,hcopd:1:0:119");
        assertThat(slices).containsExactly(StreamSlice.of("hcopd", 0, 0, 120), StreamSlice.of("hcopd", 1, 0, 119));
        assertThat(slices.stream().mapToLong(StreamSlice::size).sum()).isEqualTo(239);
        assertThat(StreamSlice.formatList(slices)).isEqualTo("hcopd:0:0:120,hcopd:1:0:119");
    }

    @Test
    void threeFieldsMeanOpenEnded() {
        StreamSlice slice = StreamSlice.parse("data.v1:2:500");
        assertThat(slice.isOpenEnded()).isTrue();
        assertThat(slice.endOffset()).isEqualTo(StreamSlice.OPEN_END);
        assertThat(slice.toString()).isEqualTo("data.v1:2:500");
        assertThat(slice.contains(10_000)).isTrue();
        assertThat(slice.contains(499)).isFalse();
        assertThatThrownBy(slice::size).isInstanceOf(IllegalStateException.class);
        assertThat(slice.withEndOffset(700).size()).isEqualTo(200);
    }

    @Test
    void endIsExclusiveAndEmptySlicesAreAllowed() {
        StreamSlice slice = StreamSlice.parse("t:0:5:7");
        assertThat(slice.contains(5)).isTrue();
        assertThat(slice.contains(6)).isTrue();
        assertThat(slice.contains(7)).isFalse();
        assertThat(StreamSlice.parse("t:0:7:7").size()).isZero();
    }

    @Test
    void blankTextIsAnEmptyListAndBlanksAroundEntriesAreIgnored() {
        assertThat(StreamSlice.parseList("  ")).isEmpty();
        assertThat(StreamSlice.parseList(" a:0:0:1 , b:1:2:3 "))
                .extracting(StreamSlice::topic)
                .containsExactly("a", "b");
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "hcopd:0:0                 | ''",
                "hcopd                     | it has 1 field",
                "hcopd:0                   | it has 2 fields",
                "hcopd:0:0:1:2             | it has 5 fields",
                "hcopd:x:0:10              | partition 'x' is not a non-negative integer",
                "hcopd:0:-1:10             | start offset '-1' is not a non-negative integer",
                "hcopd:0:0:ten             | end offset 'ten' is not a non-negative integer",
                "hcopd:0:10:5              | end offset 5 is before start offset 10",
                "hc/opd:0:0:5              | 'hc/opd' is not a legal Kafka topic name",
                ":0:0:5                    | '' is not a legal Kafka topic name",
                "hcopd:0:99999999999999999999:5 | start offset '99999999999999999999' is not a non-negative integer",
                "hcopd:3000000000:0:5      | partition 3000000000 is too large",
            })
    void rejectsMalformedEntriesQuotingThemAndSayingWhatWasExpected(String entry, String problem) {
        if (problem.isEmpty()) {
            assertThat(StreamSlice.parse(entry).isOpenEnded()).isTrue();
            return;
        }
        assertThatThrownBy(() -> StreamSlice.parse(entry))
                .isInstanceOf(InvalidStreamSliceException.class)
                .hasMessageContaining("'" + entry + "'")
                .hasMessageContaining(problem)
                .hasMessageContaining("expected topic:partition:startOffset:endOffset");
    }

    @Test
    void aBadEntryInAListIsNamedWithItsPositionAndTheWholeText() {
        assertThatThrownBy(() -> StreamSlice.parseList("hcopd:0:0:120,hcopd:1:zero:119"))
                .isInstanceOf(InvalidStreamSliceException.class)
                .hasMessageContaining("'hcopd:1:zero:119' (entry 2 of 2 in 'hcopd:0:0:120,hcopd:1:zero:119')")
                .satisfies(e ->
                        assertThat(((InvalidStreamSliceException) e).text()).isEqualTo("hcopd:1:zero:119"));
        assertThatThrownBy(() -> StreamSlice.parseList("a:0:0:1,,b:0:0:1"))
                .hasMessageContaining("entry 2 of 3")
                .hasMessageContaining("the entry is empty");
        assertThatThrownBy(() -> StreamSlice.parseList("a:0:0:1,")).hasMessageContaining("entry 2 of 2");
    }

    @Test
    void constructorRejectsImpossibleSlices() {
        assertThatThrownBy(() -> StreamSlice.of("t", -1, 0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> StreamSlice.of("t", 0, 5, 4)).hasMessageContaining("before startOffset");
        assertThatThrownBy(() -> StreamSlice.of("t", 0, 0, StreamSlice.OPEN_END))
                .hasMessageContaining("openEnded");
        assertThatThrownBy(() -> StreamSlice.of("bad topic", 0, 0, 1)).hasMessageContaining("legal Kafka topic");
    }
}
