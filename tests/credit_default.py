"""A simulated credit-default table with a known strongest driver (no tests here).

Each applicant has an income, a debt ratio, an age, a count of late payments and a
student status; whether they defaulted is drawn from a logistic model in which late
payments dominate: an applicant with five late payments has about 4 more units of
log-odds of default than one with none, more than any other column can add. So the
applicants a fitted model ranks riskiest owe their risk to late payments first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FEATURES = ["income", "debt_ratio", "age", "late_payments", "student"]
TARGET = "default"
#: the column that drives the riskiest rows' scores
STRONGEST = "late_payments"


def credit_default(rows: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` applicants (an id, the five features, a region to segment by, the target
    ``default``: yes/no), about 2% of incomes missing."""
    rng = np.random.default_rng(seed)
    income = np.round(rng.lognormal(np.log(42_000), 0.45, rows), -2)
    debt_ratio = np.round(rng.beta(2.0, 5.0, rows), 3)
    age = rng.integers(21, 76, rows)
    late = rng.poisson(0.4, rows) + (rng.random(rows) < 0.06) * rng.integers(2, 9, rows)
    student = np.where(rng.random(rows) < 0.12, "yes", "no")
    region = rng.choice(["north", "south", "east"], rows, p=[0.5, 0.3, 0.2])
    logit = (-3.0 + 0.85 * late + 2.5 * (debt_ratio - 0.3) - 0.8 * np.log(income / 42_000)
             - 0.015 * (age - 45) + 0.4 * (student == "yes") + 0.3 * (region == "south"))
    default = rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))
    income = income.astype(float)
    income[rng.random(rows) < 0.02] = np.nan
    return pd.DataFrame({"applicant": [f"a{i}" for i in range(rows)], "income": income,
                         "debt_ratio": debt_ratio, "age": age, "late_payments": late, "student": student,
                         "region": region,
                         TARGET: np.where(default, "yes", "no")})
