"""What a challenge gives: plain result objects the CLI prints and the Registry shows,
stored as JSON with the challenge (``to_dict``/``from_dict``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from .. import numbers
from ..plain import json_safe
from ..validate.results import MetricEstimate


@dataclass
class MetricRow:
    """One metric of both versions on the challenge rows, and challenger − champion."""

    name: str
    label: str
    higher_is_better: bool
    champion: MetricEstimate
    challenger: MetricEstimate
    difference: MetricEstimate

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "MetricRow":
        """A metric's row read back from its :meth:`ChallengeReport.to_dict` form."""
        return cls(d["name"], d["label"], bool(d["higher_is_better"]), MetricEstimate(**d["champion"]),
                   MetricEstimate(**d["challenger"]), MetricEstimate(**d["difference"]))


@dataclass
class McNemar:
    """McNemar's test of the two versions' right and wrong decisions on the same rows."""

    both_right: int
    champion_only_right: int
    challenger_only_right: int
    both_wrong: int
    statistic: Optional[float]
    p_value: Optional[float]
    #: the exact binomial test (few discordant rows) rather than the chi-square approximation
    exact: bool

    def sentence(self, against: str = "production") -> str:
        """The test's outcome in one sentence for the report; ``against`` names the champion
        (e.g. "production")."""
        discordant = self.champion_only_right + self.challenger_only_right
        if discordant == 0:
            return "McNemar's test: the two versions are right and wrong on exactly the same rows."
        test = "exact binomial test" if self.exact else "chi-square with continuity correction"
        return (f"McNemar's test ({test}): of {discordant:,} rows where exactly one version is right, the "
                f"challenger is right on {self.challenger_only_right:,} and {against} on "
                f"{self.champion_only_right:,}; {numbers.p_phrase(self.p_value)}.")


@dataclass
class SegmentRow:
    """One segment: both versions' metric on its challenge rows, the paired difference,
    and the rule's verdict for it."""

    segment: str
    #: the routing key of the segment (None: rows with no value, always the fallback's)
    key: Optional[str]
    rows: int
    reliable: bool
    champion: Optional[float]
    challenger: Optional[float]
    difference: Optional[float]
    low: Optional[float]
    high: Optional[float]
    verdict: str
    wins: bool
    #: which of each version's models scores the segment: "segment" or "fallback"
    champion_model: str
    challenger_model: str
    #: the interval's level: 1 − 0.05/k for k segments, so that all hold together at 95%
    #: (challenges stored before this was recorded were at 0.95 each)
    level: float = 0.95


@dataclass
class Thresholds:
    """The decision each version's probabilities are turned into labels with (binary)."""

    champion: Optional[float]
    challenger: Optional[float]
    champion_source: str = ""
    challenger_source: str = ""


@dataclass
class ChallengeReport:
    """A challenger judged against a champion on the same labelled, out-of-time rows."""

    challenge_id: int
    challenger: str
    champion: str
    against: str                          # how the champion was named: "production" or a version
    task: str
    dataset: dict[str, Any]               # id, name, fingerprint
    holdout: dict[str, Any]               # window, time_column, rows, first, last, rows_sha256, unlabelled
    rule: dict[str, Any]                  # metric, rule, margin
    rule_text: str
    verdict: str                          # better | not worse | inconclusive | worse
    wins: bool
    sentence: str
    metrics: list[MetricRow]
    positive_class: Optional[str] = None
    thresholds: Optional[Thresholds] = None
    mcnemar: Optional[McNemar] = None
    #: calibration slope, intercept and ECE of each (binary): {"champion": [...], "challenger": [...]}
    calibration: dict[str, list[MetricEstimate]] = field(default_factory=dict)
    segment_column: Optional[str] = None
    segments: list[SegmentRow] = field(default_factory=list)
    #: whether the segments can be promoted one by one (both versions segmented alike)
    segments_promotable: bool = False
    row_checks: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    n_bootstrap: int = 0
    seed: int = 0
    seconds: float = 0.0

    def metric(self, name: str) -> MetricRow:
        """The row of the metric named ``name``; raises StopIteration when the report has
        none."""
        return next(m for m in self.metrics if m.name == name)

    @property
    def decision(self) -> MetricRow:
        """The row of the metric the rule is judged on."""
        return self.metric(self.rule["metric"])

    @property
    def improved_segments(self) -> list[str]:
        """The segment keys that passed the rule (the ones a segment-by-segment promotion takes)."""
        return [s.key for s in self.segments if s.wins and s.key is not None]

    def to_dict(self) -> dict[str, Any]:
        """The whole report as JSON-safe values: what the store keeps and ``--json`` prints."""
        return json_safe(asdict(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ChallengeReport":
        """A report read back from :meth:`to_dict`'s form; keys this version does not know
        are ignored."""
        d = dict(d)
        d["metrics"] = [MetricRow.from_dict(m) for m in d.get("metrics") or []]
        d["thresholds"] = Thresholds(**d["thresholds"]) if d.get("thresholds") else None
        d["mcnemar"] = McNemar(**d["mcnemar"]) if d.get("mcnemar") else None
        d["calibration"] = {k: [MetricEstimate(**m) for m in v] for k, v in (d.get("calibration") or {}).items()}
        d["segments"] = [SegmentRow(**s) for s in d.get("segments") or []]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})

    def got_worse(self, s: SegmentRow) -> bool:
        """Whether the challenger is measurably worse on a segment: the whole interval on
        the wrong side of 0. Under non-inferiority that can still be "not worse" or
        "inconclusive" by the rule's margin, and a reader must still see it."""
        if s.low is None or s.high is None:
            return s.verdict == "worse"
        return s.high < 0 if self.decision.higher_is_better else s.low > 0

    def segment_verdict(self, s: SegmentRow) -> str:
        """A segment's verdict in words, saying so when it got measurably worse within
        what the rule allows."""
        text = s.verdict
        if s.verdict != "worse" and self.got_worse(s):
            text += " (measurably worse)"
        return text if s.reliable else text + " (few rows)"

    def segment_interval(self) -> str:
        """The per-segment intervals' level in words, for a column heading: "97.50%" for
        two segments (all together at 95%)."""
        return numbers.share(self.segments[0].level if self.segments else 0.95, 2)

    def segment_sentence(self) -> str:
        """Which segments got better and which worse, in a sentence ("" unsegmented)."""
        if not self.segments:
            return ""
        worse = [s.segment for s in self.segments if self.got_worse(s)]
        passed = [s.segment for s in self.segments if s.wins]
        parts = [f"{len(passed)} of {len(self.segments)} segments of {self.segment_column} pass the rule"
                 + (f" ({', '.join(passed[:8])}{' …' if len(passed) > 8 else ''})" if passed else "")]
        if worse:
            parts.append(f"worse in {', '.join(worse[:8])}{' …' if len(worse) > 8 else ''}")
        return "; ".join(parts) + "."
