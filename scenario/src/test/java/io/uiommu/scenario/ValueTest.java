package io.uiommu.scenario;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ValueTest {
    private static final Value.Resolver NO_VARS = name -> {
        throw new AssertionError("no variable expected, got " + name);
    };

    private static long eval(String text) {
        return Value.parse(text).evaluate(NO_VARS);
    }

    @Test
    void numbersInDecimalAndHex() {
        assertThat(eval("4096")).isEqualTo(4096);
        assertThat(eval("0x1000")).isEqualTo(4096);
        assertThat(eval("0XfFfF")).isEqualTo(0xffff);
        assertThat(eval("0xffffffffffffffff")).isEqualTo(-1L);
        assertThat(eval("18446744073709551615")).isEqualTo(-1L);
    }

    @Test
    void kernelConstantsJoinedWithOr() {
        assertThat(eval("IOMMU_IOAS_MAP_READABLE|IOMMU_IOAS_MAP_WRITEABLE")).isEqualTo(6);
        assertThat(eval("IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | 8")).isEqualTo(13);
        assertThat(eval("MOCK_APERTURE_START")).isEqualTo(1L << 24);
        // u32 magic numbers stay unsigned, as in C
        assertThat(eval("IOMMU_HW_INFO_TYPE_SELFTEST")).isEqualTo(0xfeedbeefL);
        assertThat(eval("IOMMU_IOAS_MAP")).isEqualTo(0x3b85);
    }

    @Test
    void builtinsAndSizeof() {
        assertThat(eval("PAGE_SIZE")).isEqualTo(4096);
        assertThat(eval("MOCK_PAGE_SIZE")).isEqualTo(2048);
        assertThat(eval("U64_MAX")).isEqualTo(-1L);
        assertThat(eval("U32_MAX")).isEqualTo(0xffffffffL);
        assertThat(eval("sizeof(iommu_iova_range)")).isEqualTo(16);
        assertThat(eval("sizeof(iommu_hwpt_invalidate_selftest)+1")).isEqualTo(9);
        assertThat(eval("sizeof(u32)")).isEqualTo(4);
    }

    @Test
    void arithmeticWithParenthesesAndNegation() {
        assertThat(eval("MOCK_APERTURE_START+0x1000-16")).isEqualTo((1L << 24) + 4096 - 16);
        assertThat(eval("-1")).isEqualTo(-1L);
        assertThat(eval("(1|2)+4")).isEqualTo(7);
        assertThat(eval("1|2+4")).isEqualTo(7);
        assertThat(eval("8|(2+4)")).isEqualTo(14);
    }

    @Test
    void constantExpressionsAreLiterals() {
        assertThat(Value.parse("PAGE_SIZE+0").isLiteral()).isTrue();
        assertThat(Value.parse("MOCK_APERTURE_START|1").literal()).isEqualTo((1L << 24) | 1);
        assertThat(Value.parse("$a+1").isLiteral()).isFalse();
    }

    @Test
    void variablesResolveWhenEvaluated() {
        Map<String, Long> vars = Map.of("buf", 0x7f00_0000_0000L, "n", 3L);
        Value.Resolver r = vars::get;
        assertThat(Value.parse("$buf+4096").evaluate(r)).isEqualTo(0x7f00_0000_1000L);
        assertThat(Value.parse("$buf-0x10").evaluate(r)).isEqualTo(0x7eff_ffff_fff0L);
        assertThat(Value.parse("$n|IOMMU_IOAS_MAP_READABLE").evaluate(r)).isEqualTo(7);
        assertThat(Value.parse("$buf + $n").variables()).containsExactly("buf", "n");
    }

    @Test
    void jsonNumbersRoundTripAsNumbers() {
        assertThat(Value.of(4096).isJsonNumber()).isTrue();
        assertThat(Value.of(4096).text()).isEqualTo("4096");
        assertThat(Value.of(-1).isJsonNumber()).isFalse();
        assertThat(Value.of(-1).text()).isEqualTo("0xffffffffffffffff");
        assertThat(Value.of(1L << 60).text()).isEqualTo("0x1000000000000000");
        assertThat(Value.variable("ioas").text()).isEqualTo("$ioas");
    }

    @Test
    void mistakesAreExplained() {
        assertThatThrownBy(() -> Value.parse("IOMMU_IOAS_MAP_READABL"))
                .hasMessageContaining("unknown constant IOMMU_IOAS_MAP_READABL")
                .hasMessageContaining("did you mean IOMMU_IOAS_MAP_READABLE?");
        assertThatThrownBy(() -> Value.parse("0x")).hasMessageContaining("bad number 0x");
        assertThatThrownBy(() -> Value.parse("12abc")).hasMessageContaining("bad number 12abc");
        assertThatThrownBy(() -> Value.parse("0x10000000000000000")).hasMessageContaining("at most 64 bits");
        assertThatThrownBy(() -> Value.parse("")).hasMessageContaining("empty value");
        assertThatThrownBy(() -> Value.parse("$")).hasMessageContaining("variable name");
        assertThatThrownBy(() -> Value.parse("1 2")).hasMessageContaining("unexpected '2'");
        assertThatThrownBy(() -> Value.parse("1+")).hasMessageContaining("missing at the end");
        assertThatThrownBy(() -> Value.parse("(1")).hasMessageContaining("missing ')'");
        assertThatThrownBy(() -> Value.parse("sizeof(iommu_iova_rang)"))
                .hasMessageContaining("unknown struct iommu_iova_rang (did you mean iommu_iova_range?)");
        assertThatThrownBy(() -> Value.parse("1*2")).hasMessageContaining("unexpected '*'");
    }
}
