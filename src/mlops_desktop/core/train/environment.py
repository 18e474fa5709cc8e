"""The machine a run happens on: library versions for the record, and how many
workers to use."""

from __future__ import annotations

import os
import platform
from contextlib import AbstractContextManager, nullcontext
from importlib import metadata

#: libraries whose versions decide a model's numbers
LIBRARIES = ("numpy", "pandas", "scikit-learn", "scipy", "statsmodels", "joblib")
#: below this many cells (training rows x features) one worker is faster than two:
#: starting worker processes and sending them the data costs more than it saves
PARALLEL_MIN_CELLS = 100_000
MAX_WORKERS = 2


def library_versions() -> dict[str, str]:
    """Python's and each modelling library's version, and the platform."""
    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    out["platform"] = platform.platform()
    return out


def workers(n_rows: int, n_features: int) -> int:
    """Workers for cross-validation folds and segments: both cores for real work, one
    for small data. The results never depend on it (every estimator is seeded)."""
    if n_rows * max(n_features, 1) < PARALLEL_MIN_CELLS:
        return 1
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


def thread_limit(n_jobs: int) -> AbstractContextManager:
    """One native thread per estimator when the work is small (one worker): on small
    data the boosters' OpenMP threads spend more time waiting for each other than
    working, and far more when another program is busy. With more workers the
    worker processes already limit their threads, and the final fit uses every core."""
    if n_jobs > 1:
        return nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)
