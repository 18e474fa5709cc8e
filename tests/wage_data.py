"""A wage-like table, simulated (as the CPS wage data analysts know from R's AER package
look): log-normal wages that rise with education and are concave in experience, with
ethnicity, smsa (lives in a city) and parttime categories. Residuals on the wage scale
are skewed and spread with the level, and wage is curved in experience: what Check asks
a log, a polynomial and a spline for."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: the formula the data were simulated from (its reference level is not the default one)
TRUE_FORMULA = ("log(wage) ~ education + poly(experience, 2) + C(ethnicity, contr.treatment('cauc')) "
                "+ smsa + education:parttime")


def wage_frame(n: int = 2000, seed: int = 7) -> pd.DataFrame:
    """``n`` workers: wage (dollars a week), education and experience (years), ethnicity
    (cauc, afam, other), smsa and parttime (yes/no)."""
    rng = np.random.default_rng(seed)
    education = rng.choice(np.arange(6, 19), n, p=_education_shares()).astype(float)
    experience = np.round(rng.gamma(2.2, 8.0, n).clip(0, 55), 0)
    ethnicity = rng.choice(["cauc", "afam", "other"], n, p=[0.76, 0.14, 0.10])
    smsa = rng.choice(["yes", "no"], n, p=[0.74, 0.26])
    parttime = rng.choice(["no", "yes"], n, p=[0.91, 0.09])
    log_wage = (4.3 + 0.085 * education + 0.078 * experience - 0.0013 * experience ** 2
                - 0.24 * (ethnicity == "afam") - 0.05 * (ethnicity == "other") + 0.17 * (smsa == "yes")
                - 0.06 * education * (parttime == "yes") + rng.normal(0, 0.5, n))
    return pd.DataFrame({"wage": np.round(np.exp(log_wage), 2), "education": education,
                         "experience": experience, "ethnicity": ethnicity, "smsa": smsa,
                         "parttime": parttime})


def _education_shares() -> np.ndarray:
    weights = np.array([1, 1, 2, 3, 4, 5, 7, 30, 8, 9, 7, 14, 9], dtype=float)
    return weights / weights.sum()
