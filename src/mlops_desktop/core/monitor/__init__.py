"""Monitor: compare current batches with a reference (a dataset, or a model version's
training data with its model and importances) feature by feature, with verdicts that
take the batch's size into account; timelines across batches; reports kept in the
registry and written as HTML.

Every measure and rule lives in ``mlops_model_support.drift`` (imported here as
``metrics``), which an exported scoring package carries too, so the Monitor page and
``score.py --drift`` compute every figure with the same code; the modules here read
data, build references and batches, store reports and render them.
"""

from .batches import (FREQUENCIES, Batch, batch_from_dataset, batch_from_file, batch_from_frame,
                      load_batch, split_batch)
from .drift import DriftReport, DriftRun, DriftTimeline, compare_batch, run_drift
from .errors import DriftError
from .history import (StoredDriftReport, StoredDriftRun, drift_reports, drift_runs, load_report, load_run,
                      save_report)
from .html import render_drift_report, write_drift_report
from mlops_model_support.drift import (DEFAULT_THRESHOLDS, Comparison, DatasetVerdict, FeatureResult,
                      build_reference_profile, compare)
from .reference import Reference, resolve_reference
from .thresholds import (Thresholds, effective_thresholds, reset_thresholds, set_thresholds,
                         threshold_layers)

__all__ = [
    "FREQUENCIES", "Batch", "batch_from_dataset", "batch_from_file", "batch_from_frame", "load_batch",
    "split_batch", "DriftReport", "DriftRun", "DriftTimeline", "compare_batch", "run_drift",
    "DriftError", "StoredDriftReport", "StoredDriftRun", "drift_reports", "drift_runs", "load_report",
    "load_run", "save_report",
    "render_drift_report", "write_drift_report", "DEFAULT_THRESHOLDS", "Comparison", "DatasetVerdict",
    "FeatureResult", "build_reference_profile", "compare", "Reference", "resolve_reference",
    "Thresholds", "effective_thresholds", "reset_thresholds", "set_thresholds", "threshold_layers",
]
