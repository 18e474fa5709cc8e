"""Drift thresholds: defaults in code, overridden per workspace, then per model.

The effective thresholds for a comparison are the defaults (``metrics.DEFAULT_THRESHOLDS``)
updated with the workspace's overrides, then with the model's (by model name) when the
reference is a model version. Overrides are stored in the registry and every change is
in the audit log.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Mapping, Optional

from mlops_model_support import drift as metrics

from ..store import drift_reports as rows
from .errors import DriftError

if TYPE_CHECKING:
    from ..workspace import Workspace


@dataclass(frozen=True)
class Thresholds:
    """The thresholds and noise settings of a drift comparison (see ``metrics``)."""

    psi_moderate: float = 0.1
    psi_major: float = 0.25
    wasserstein: float = 0.1
    jensen_shannon: float = 0.1
    missing_share: float = 0.1
    new_share: float = 0.1
    dataset_share: float = 0.0
    noise_quantile: float = 0.99
    noise_draws: int = 200
    seed: int = 20131

    @classmethod
    def from_dict(cls, values: Optional[Mapping[str, Any]] = None) -> "Thresholds":
        """The defaults updated with ``values``; a :class:`DriftError` names a bad entry."""
        return cls(**_checked(values))

    def to_dict(self) -> dict[str, Any]:
        """The thresholds as a plain dict."""
        return asdict(self)


def _checked(values: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    try:
        return metrics.check_thresholds(values)
    except metrics.DriftInputError as exc:
        raise DriftError(str(exc)) from None


def threshold_layers(ws: "Workspace", model_name: Optional[str] = None) -> dict[str, dict[str, Any]]:
    """What each layer sets: {"defaults", "workspace", "model"} (the last two hold only
    the overridden entries), for a settings page to show where a value comes from."""
    return {"defaults": dict(metrics.DEFAULT_THRESHOLDS),
            "workspace": rows.threshold_overrides(ws.registry),
            "model": rows.threshold_overrides(ws.registry, model_name) if model_name else {}}


def effective_thresholds(ws: Optional["Workspace"], model_name: Optional[str] = None) -> Thresholds:
    """Defaults, then the workspace's overrides, then the model's."""
    if ws is None:
        return Thresholds()
    layers = threshold_layers(ws, model_name)
    return Thresholds.from_dict({**layers["workspace"], **layers["model"]})


def set_thresholds(ws: "Workspace", changes: Mapping[str, Any], *, model_name: Optional[str] = None,
                   actor: str) -> Thresholds:
    """Override thresholds for the workspace (``model_name`` None) or one model. A value
    of None removes that override. Returns the resulting effective thresholds."""
    if model_name is not None and not model_name.strip():
        raise DriftError("Give the model's name to set its drift thresholds.")
    stored = rows.threshold_overrides(ws.registry, model_name)
    for key, value in changes.items():
        if key not in metrics.DEFAULT_THRESHOLDS:
            _checked({key: value})  # raises, naming the known thresholds
        if value is None:
            stored.pop(key, None)
        else:
            stored[key] = _checked({key: value})[key]
    workspace = rows.threshold_overrides(ws.registry) if model_name else {}
    result = Thresholds.from_dict({**workspace, **stored})  # the combination must hold too
    rows.save_threshold_overrides(ws.registry, stored, model_name=model_name, actor=actor)
    return result


def reset_thresholds(ws: "Workspace", *, model_name: Optional[str] = None, actor: str) -> Thresholds:
    """Remove every override of the workspace or of one model."""
    rows.save_threshold_overrides(ws.registry, {}, model_name=model_name, actor=actor)
    return effective_thresholds(ws, model_name)
