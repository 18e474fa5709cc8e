"""How a verdict is reached: the thresholds, in one place, and the rule that weighs a
p-value against an effect size depending on the sample size.

- Below :data:`LARGE_SAMPLE` rows a test decides: p >= ALPHA is ok, p < ALPHA a
  warning, and a problem when the effect size is also large.
- From :data:`LARGE_SAMPLE` rows on, almost every test rejects, so the effect size
  alone decides (negligible: ok, moderate: warning, large: problem), and the text
  says so.
- Below :data:`SMALL_SAMPLE` rows (or residual degrees of freedom) the text warns
  that a test has little power.
"""

from __future__ import annotations

from typing import Optional

from .. import numbers
from .result import OK, PROBLEM, WARNING

ALPHA = 0.05
LARGE_SAMPLE = 5000
SMALL_SAMPLE = 30
SHAPIRO_MAX_ROWS = 5000

# effect-size levels: below the first value negligible, from the second on large
COHEN_F2 = (0.02, 0.15)          # RESET: Cohen's f² of the added powers of the fit
# heteroscedasticity: the largest over the smallest robust spread of the residuals across
# fitted-value groups (1.5: a variance 2.25 times as large). Not the auxiliary R² of
# Breusch–Pagan: with heavy tails a few huge squared residuals swamp it and it stays
# near 0 while the spread plainly doubles
SPREAD_RATIO = (1.5, 2.5)
SPREAD_GROUPS = 5                # equal-count groups of fitted values
SPREAD_MIN_GROUP_ROWS = 10       # fewer rows per group and the ratio is not computed
SKEWNESS = (0.5, 1.0)            # |skewness| of residuals
EXCESS_KURTOSIS = (1.0, 3.0)     # |excess kurtosis| of residuals
AUTOCORRELATION = (0.2, 0.5)     # |lag-1 autocorrelation| (Durbin–Watson 1.6..2.4 ok, <1 or >3 problem)
DRIFT = (0.2, 0.5)               # standardised difference of the target's first and last third
PSEUDO_R2_GAIN = (0.01, 0.05)    # Box–Tidwell: gain in McFadden's pseudo-R² from the x·ln x terms
VIF = (5.0, 10.0)
OBS_PER_PARAMETER = (20.0, 10.0)  # below 20 a warning, below 10 a problem
EVENTS_PER_VARIABLE = (20.0, 10.0)
CLASS_RATIO_WARNING = 0.1        # smallest class / largest class
MIN_CLASS_ROWS = 10              # fewer rows in a class is a problem
RARE_LEVEL_ROWS = 10             # a category level with fewer rows is rare
COOKS_PROBLEM = 1.0
COOKS_WARNING = 0.5
LEVERAGE_WARNING = 0.5
MAX_LEVELS = 50                  # a categorical feature keeps its 49 most frequent levels, the rest lumped
MIN_ROWS = 5                     # fewer usable rows and no check can run


def level(value: Optional[float], bounds: tuple[float, float]) -> int:
    """0 (negligible), 1 (moderate) or 2 (large) for ``|value|`` against ``bounds``."""
    if value is None:
        return 0
    v = abs(value)
    return 0 if v < bounds[0] else (1 if v < bounds[1] else 2)


def power_caveat(n: int, df: Optional[int] = None) -> str:
    """The caveat for a test on ``n`` rows, of which ``df`` residual degrees of freedom are
    left after the fit (the smaller of the two limits the power)."""
    if df is not None and df < n and df < SMALL_SAMPLE:
        return (f"; with {n} rows and only {df} residual degrees of freedom the test has little "
                "power, so 'ok' is weak evidence and only large departures show")
    if n < SMALL_SAMPLE:
        return (f"; with only {n} rows the test has little power, so 'ok' is weak evidence and "
                "only large departures show")
    return ""


def test_verdict(p: Optional[float], effect_level: int, n: int, *, test: str,
                 effect_text: str, df_for_power: Optional[int] = None) -> tuple[str, str]:
    """A verdict and the sentence that says which rule decided it.

    ``effect_text`` describes the effect size and its thresholds, e.g.
    "skewness 0.02 and excess kurtosis 0.10 (warning from |0.5| or |1|)".
    """
    if n >= LARGE_SAMPLE:
        verdict = (OK, WARNING, PROBLEM)[effect_level]
        if p is not None and p < ALPHA:
            why = (f"with {n:,} rows the {test} rejects even negligible departures ({numbers.p_phrase(p)}), "
                   f"so the verdict rests on {effect_text}")
        else:
            why = f"the {test} does not reject ({numbers.p_phrase(p)}); the verdict rests on {effect_text}"
        return verdict, f"effect size (large sample): {why}"
    if p is None:
        verdict = (OK, WARNING, PROBLEM)[effect_level]
        return verdict, f"effect size: {effect_text}" + power_caveat(n, df_for_power)
    if p >= ALPHA:
        return OK, (f"p-value: the {test} does not reject ({numbers.p_phrase(p)} ≥ {ALPHA}); "
                    f"{effect_text}") + power_caveat(n, df_for_power)
    if effect_level >= 2:
        return PROBLEM, (f"p-value and effect size: the {test} rejects ({numbers.p_phrase(p)} < {ALPHA}) "
                         f"and {effect_text}") + power_caveat(n, df_for_power)
    return WARNING, (f"p-value: the {test} rejects ({numbers.p_phrase(p)} < {ALPHA}); {effect_text}"
                     ) + power_caveat(n, df_for_power)


def bounds_text(name: str, value: Optional[float], bounds: tuple[float, float],
                absolute: bool = True) -> str:
    """A figure with its warning and problem cut-offs, in words."""
    bar = "|" if absolute else ""
    return (f"{name} {numbers.value(value)} (warning from {bar}{numbers.value(bounds[0])}{bar}, "
            f"problem from {bar}{numbers.value(bounds[1])}{bar})")
