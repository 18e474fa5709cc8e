"""Percentile bootstrap over holdout rows: seeded resamples, paired for model and baseline.

The resample indices come from :func:`bootstrap_indices` (one call of
``numpy.random.default_rng(seed).integers(0, n, n)`` per resample, in order), so anyone
can redraw exactly the same resamples, as the tests do with a slow reference loop.
"""

from __future__ import annotations

from typing import Callable, Iterator, Optional, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

#: weight rows per chunk are chosen so that one chunk holds about this many numbers
_CHUNK_CELLS = 2_000_000
#: an interval is given only when the metric is defined in at least this share of resamples
MIN_DEFINED_SHARE = 0.5


def bootstrap_indices(n: int, n_bootstrap: int, seed: int) -> Iterator[np.ndarray]:
    """The row positions of each resample: ``n`` draws with replacement from ``range(n)``."""
    rng = np.random.default_rng(seed)
    for _ in range(n_bootstrap):
        yield rng.integers(0, n, size=n)


def resample_weights(n: int, n_bootstrap: int, seed: int) -> Iterator[np.ndarray]:
    """The resamples as chunks of weight rows (how often each row was drawn)."""
    chunk = max(1, min(n_bootstrap, _CHUNK_CELLS // max(n, 1)))
    indices = bootstrap_indices(n, n_bootstrap, seed)
    done = 0
    while done < n_bootstrap:
        m = min(chunk, n_bootstrap - done)
        weights = np.empty((m, n))
        for j in range(m):
            weights[j] = np.bincount(next(indices), minlength=n)
        yield weights
        done += m


def bootstrap_metrics(scorers: Sequence, n: int, n_bootstrap: int, seed: int, *,
                      on_chunk: Optional[Callable[[float], None]] = None) -> list[dict[str, np.ndarray]]:
    """Each scorer's metrics in every resample (the same resamples for all scorers, so
    their differences are paired). ``on_chunk(fraction_done)`` is called after each chunk
    (progress and cancel)."""
    parts: list[dict[str, list[np.ndarray]]] = [{} for _ in scorers]
    done = 0
    # the products here are thin (a few columns); BLAS threads only add overhead to them,
    # and twice the time on a busy laptop
    with threadpool_limits(limits=1, user_api="blas"):
        for weights in resample_weights(n, n_bootstrap, seed):
            for scorer, store in zip(scorers, parts):
                for name, values in scorer.metrics(weights).items():
                    store.setdefault(name, []).append(values)
            done += len(weights)
            if on_chunk is not None:
                on_chunk(done / n_bootstrap)
    return [{k: np.concatenate(v) for k, v in store.items()} for store in parts]


def percentile_interval(values: np.ndarray, level: float = 0.95) -> tuple[Optional[float], Optional[float], int]:
    """The percentile interval holding ``level`` of the resampled values where the metric
    was defined (at 0.95: the 2.5th and 97.5th percentiles), and how many resamples it was
    not; (None, None, k) when it was undefined in more than half of them."""
    values = np.asarray(values, dtype=float)
    defined = values[np.isfinite(values)]
    undefined = int(len(values) - len(defined))
    if len(values) == 0 or len(defined) < MIN_DEFINED_SHARE * len(values):
        return None, None, undefined
    tail = 50.0 * (1.0 - level)
    low, high = np.percentile(defined, [tail, 100.0 - tail])
    return float(low), float(high), undefined
