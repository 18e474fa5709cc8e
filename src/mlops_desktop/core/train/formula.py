"""A model formula as the app reads it: the analyst's text checked once (its target,
its terms, the columns it reads), errors in the app's words, and what a fitted model's
terms are (for ``models show --json``, the card and the coefficient notes).

The formula's grammar, its functions and the design it builds are
:mod:`mlops_model_support.terms`' (the same code scores an exported package).
"""

from __future__ import annotations

from typing import Any, Optional

from ..errors import InvalidChoiceError

#: how predictions of a transformed target come back in its units
RETRANSFORMS = {"smearing": "Duan's smearing estimate", "normal": "the normal-theory correction",
                "none": "no correction (for log: the median)"}


def parse_formula(text: str, *, need_target: bool = True) -> Any:
    """``text`` as a checked :class:`mlops_model_support.terms.Formula`; raises
    :class:`InvalidChoiceError` with the reason."""
    from mlops_model_support.terms import FormulaError, parse

    try:
        return parse(text, need_target=need_target)
    except FormulaError as exc:
        raise InvalidChoiceError(str(exc)) from None


def formula_target(text: str) -> str:
    """The target column a formula names on its left."""
    return parse_formula(text).target


def model_terms(model: Any) -> Optional[dict[str, Any]]:
    """What a fitted model's formula made of its inputs: the formula's right-hand side,
    its terms, the design columns (the names of the coefficient table), each
    categorical term's reference level, and the target's transformation and how
    predictions come back; None for a model without a formula. A segmented model
    answers for its fallback (every segment has the same terms)."""
    from .estimators import FormulaTerms, SegmentRouter, TransformedTarget

    if isinstance(model, SegmentRouter):
        model = model.fallback_
    steps = dict(getattr(model, "steps", []))
    terms = steps.get("preprocess")
    if hasattr(terms, "steps"):  # terms then scaling
        terms = terms.steps[0][1]
    if not isinstance(terms, FormulaTerms):
        return None
    out: dict[str, Any] = {
        "formula": terms.formula, "terms": list(dict.fromkeys(terms.column_terms_)),
        "columns": [str(c) for c in terms.get_feature_names_out()],
        "reference_levels": dict(terms.reference_levels_), "fill_values": dict(terms.fill_values_),
        "target_transform": None, "target_parameter": None, "retransform": None, "retransform_note": None}
    final = steps.get("model")
    if isinstance(final, TransformedTarget):
        out.update(target_transform=final.transform, target_parameter=final.parameter_,
                   retransform=final.retransform, retransform_note=final.describe())
    return out
