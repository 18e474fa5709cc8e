"""Numbers in words for people: the one place that decides how a figure is written.

Every page, the CLI's text output, the HTML reports and the model cards write their
figures through these functions, so a value reads the same everywhere: three
significant digits, thousands separators, scientific notation only for the very small
(and the astronomically large), a dash for a missing value, shares as percentages,
intervals as "low to high", p-values never as 0, metric names in words and times
without seconds' fractions. JSON output keeps raw numbers and never comes here.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Optional

#: what a missing or undefined figure reads as
MISSING = "—"
#: significant digits of a figure
DIGITS = 3
#: below this a p-value cannot be told from zero in double precision
P_FLOOR = 1e-16


def _finite(x: Any) -> Optional[float]:
    if x is None or isinstance(x, bool):
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _scientific(x: float, digits: int) -> str:
    mantissa, _, exponent = f"{x:.{max(digits - 1, 0)}e}".partition("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"  # 1.23e-5, not 1.230e-05


def value(x: Any, digits: int = DIGITS) -> str:
    """A figure: ``digits`` significant digits with thousands separators (18,823;
    0.0842; 1,234,568), scientific below 1e-4 (1.23e-7), a dash when missing."""
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    f = _finite(x)
    if f is None:
        return MISSING
    a = abs(f)
    if a == 0:
        return "0"
    if a < 1e-4 or a >= 1e15:
        return _scientific(f, digits)
    if a >= 10 ** (digits - 1):  # the integer part holds all the digits asked for
        return f"{round(f):,}"
    decimals = digits - 1 - math.floor(math.log10(a))
    text = f"{f:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def fixed(x: Any, decimals: int = 2) -> str:
    """Values on one scale side by side, with the same decimals (a correlation matrix:
    -0.80, 0.05, 1.00)."""
    f = _finite(x)
    return MISSING if f is None else f"{f + 0.0:.{decimals}f}".replace("-0.00", "0.00")


def signed(x: Any, digits: int = DIGITS) -> str:
    """A difference with its sign: +0.389, -0.012, 0."""
    text = value(x, digits)
    f = _finite(x)
    return text if f is None or f < 0 or text == "0" else "+" + text


def count(n: Any) -> str:
    """A count of rows, values or things: 53,940."""
    f = _finite(n)
    return MISSING if f is None else f"{round(f):,}"


def p_value(p: Any) -> str:
    """A p-value: 0.042, 3.1e-7, or "< 1e-16" where it cannot be told from zero (never 0)."""
    f = _finite(p)
    if f is None:
        return MISSING
    if f < P_FLOOR:
        return "< 1e-16"
    if f < 0.001:
        return value(f, 2)
    return f"{f:.3f}"


def p_phrase(p: Any, name: str = "p") -> str:
    """A p-value in a sentence: "p = 0.042", "p < 1e-16"."""
    text = p_value(p)
    if text == MISSING:
        return f"{name} n/a"
    return f"{name} {text}" if text.startswith("<") else f"{name} = {text}"


def share(x: Any, decimals: int = 1) -> str:
    """A share as a percentage: 12.3%; "< 0.1%" and "> 99.9%" rather than 0% or 100%
    for a share that is not exactly nothing or everything."""
    f = _finite(x)
    if f is None:
        return MISSING
    if f == 0 or f == 1:
        return f"{f:.0%}"
    step = 10 ** -(decimals + 2)
    if 0 < f < step:
        return f"< {step:.{decimals}%}"
    if 1 - step < f < 1:
        return f"> {1 - step:.{decimals}%}"
    return f"{f:.{decimals}%}"


def interval(low: Any, high: Any, digits: int = DIGITS, *, sign: bool = False) -> str:
    """A confidence interval, "0.851 to 0.924": both ends at the resolution of the
    larger one, so an end that is zero to that resolution reads 0 (a perfect model's
    log loss: "0 to 1.43e-7", not "7.15e-45 to 1.43e-7"). ``sign``: for differences."""
    lo, hi = _finite(low), _finite(high)
    if lo is None or hi is None:
        return MISSING
    scale = max(abs(lo), abs(hi))
    if scale > 0:
        resolution = 10 ** (math.floor(math.log10(scale)) - digits + 1)
        lo, hi = (0.0 if abs(v) < resolution / 2 else v for v in (lo, hi))
    write = signed if sign else value
    return f"{write(lo, digits)} to {write(hi, digits)}"


def with_interval(x: Any, low: Any, high: Any, digits: int = DIGITS, *, sign: bool = False) -> str:
    """A figure and its interval: "0.889 (0.851 to 0.924)"."""
    write = signed if sign else value
    text = write(x, digits)
    if _finite(low) is None or _finite(high) is None:
        return text
    return f"{text} ({interval(low, high, digits, sign=sign)})"


def metric_name(name: str, task: str = "") -> str:
    """A metric's name in words ("balanced accuracy", "ROC AUC"), for any metric the app
    computes; an unknown name has its underscores read as spaces."""
    from .validate.metrics import METRIC_INFO, label

    if name in METRIC_INFO:
        return label(name, task)
    return DRIFT_MEASURES.get(name, name.replace("_", " "))


#: the drift measures' names in words
DRIFT_MEASURES = {"psi": "PSI", "wasserstein_normalised": "Wasserstein distance / σ",
                  "jensen_shannon": "Jensen–Shannon distance", "ks": "Kolmogorov–Smirnov statistic",
                  "ks_p": "Kolmogorov–Smirnov p-value", "chi2_p": "chi-square p-value",
                  "chi2": "chi-square statistic", "missing_share": "missing share"}


def timestamp(when: Any, *, seconds: bool = False) -> str:
    """A moment to the minute (or second), in UTC as stored: "2026-03-04 10:15 UTC";
    no "T", no microseconds, no "+00:00". Text that is not a time is returned as it is."""
    if when is None or when == "":
        return MISSING
    moment = when
    if not isinstance(moment, dt.datetime):
        text = str(when).strip()
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text
    utc = moment.tzinfo is not None and moment.utcoffset() == dt.timedelta(0)
    naive = moment.tzinfo is None
    shown = moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    if utc:
        return shown + " UTC"
    if naive:
        return shown
    return shown + " " + moment.strftime("%z")


def date_or_time(when: Any) -> str:
    """A date, or a moment to the minute when it has a time of day: for the ends of a
    period of data ("2013-01-01 to 2013-06-30")."""
    text = timestamp(when)
    if text.endswith(" 00:00 UTC") or (len(text) == 16 and text.endswith(" 00:00")):
        return text[:10]
    return text


def file_size(n_bytes: Any) -> str:
    """A file's size: 812 bytes, 1.18 MB, 2.1 GB (in units of 1,024, as file managers show)."""
    f = _finite(n_bytes)
    if f is None:
        return MISSING
    if f < 1024:
        return f"{round(f):,} bytes"
    for unit in ("KB", "MB", "GB", "TB"):
        f /= 1024
        if f < 1024 or unit == "TB":
            break
    return f"{value(f)} {unit}"


def seconds(s: Any) -> str:
    """How long something took: 0.04 s, 12 s, 3 min 5 s."""
    f = _finite(s)
    if f is None:
        return MISSING
    if f < 60:
        return f"{value(f, 2 if f < 10 else 3)} s"
    minutes, rest = divmod(round(f), 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def cell(x: Any) -> str:
    """Any value for a table cell or a sentence: numbers as :func:`value`, True/False
    as yes/no, None as a dash, text as it is."""
    if x is None:
        return MISSING
    if isinstance(x, (bool, int, float)):
        return value(x)
    try:
        import numpy as np

        if isinstance(x, np.generic):
            return value(x.item())
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    return str(x)
