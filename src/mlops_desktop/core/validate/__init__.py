"""Validate a fitted model on a holdout: metrics with bootstrap intervals next to a
baseline, threshold choice, curves, segment and subgroup metrics, permutation importance,
partial dependence, and the model card (whose coefficient table comes from
``core.train.coefficients``, the one module that reads a fitted model's coefficients).

Pure functions over a fitted scikit-learn estimator or pipeline and pandas data; the
registry, the CLI and the GUI call them.
"""

from ..jobs import no_progress
from .bootstrap import bootstrap_indices
from .card import ModelCard, limitations_from_facts
from .card_file import write_model_card
from .card_html import model_card_html
from .card_markdown import model_card_markdown
from .errors import ValidationError
from .results import MetricEstimate, ValidationReport
from .threshold import RULES as THRESHOLD_RULES
from .threshold import choose_threshold
from .validation import validate_model

__all__ = [
    "THRESHOLD_RULES",
    "MetricEstimate",
    "ModelCard",
    "ValidationError",
    "ValidationReport",
    "bootstrap_indices",
    "choose_threshold",
    "limitations_from_facts",
    "model_card_html",
    "model_card_markdown",
    "no_progress",
    "validate_model",
    "write_model_card",
]
