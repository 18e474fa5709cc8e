"""A simulated diamonds-like table for the recipe tests (no diamonds file is shipped):
carat; cut, color and clarity as ordered categories with a few typos; dimensions x, y,
z with a few zeros (failed measurements) and a misplaced decimal point; depth, table;
price rising with carat and the grades."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

CUTS = ["Fair", "Good", "Very Good", "Premium", "Ideal"]
COLORS = ["J", "I", "H", "G", "F", "E", "D"]
CLARITIES = ["I1", "SI2", "SI1", "VS2", "VS1", "VVS2", "VVS1", "IF"]
#: the steps an analyst applies to it: zeros to missing, ordinal grades, a log price, a filter
RECIPE = ["recode cut: Goood -> Good, Premum -> Premium",
          "replace x == 0 with missing", "replace y == 0 with missing", "replace z == 0 with missing",
          "order cut: Fair < Good < Very Good < Premium < Ideal",
          "order color: J < I < H < G < F < E < D",
          "order clarity: I1 < SI2 < SI1 < VS2 < VS1 < VVS2 < VVS1 < IF",
          "derive log_price = log(price)",
          "filter carat <= 2.5"]


def diamonds(n: int = 3000, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    carat = np.round(np.clip(rng.lognormal(np.log(0.7), 0.55, n), 0.2, 5.0), 2)
    cut = rng.choice(CUTS, n, p=[0.03, 0.09, 0.22, 0.26, 0.40]).astype(object)
    color = rng.choice(COLORS, n).astype(object)
    clarity = rng.choice(CLARITIES, n, p=[0.02, 0.17, 0.24, 0.23, 0.15, 0.09, 0.07, 0.03]).astype(object)
    side = 6.4 * carat ** (1 / 3)
    x = np.round(side * rng.normal(1, 0.01, n), 2)
    y = np.round(side * rng.normal(1, 0.01, n), 2)
    z = np.round(side * 0.62 * rng.normal(1, 0.01, n), 2)
    grade = np.array([CUTS.index(c) for c in cut]) * 0.04 + np.array([COLORS.index(c) for c in color]) * 0.05 \
        + np.array([CLARITIES.index(c) for c in clarity]) * 0.07
    price = np.round(np.exp(8.35 + 1.75 * np.log(carat) + grade + rng.normal(0, 0.12, n)))
    frame = pd.DataFrame({"carat": carat, "cut": cut, "color": color, "clarity": clarity,
                          "depth": np.round(rng.normal(61.8, 1.4, n), 1), "table": np.round(rng.normal(57.4, 2.2, n)),
                          "x": x, "y": y, "z": z, "price": price})
    # failed measurements, typos in the grades, a misplaced decimal point
    for column, rows in (("x", [3, 40]), ("y", [40, 41]), ("z", [5, 77, 150])):
        frame.loc[rows, column] = 0.0
    frame.loc[[11, 12], "cut"] = "Goood"
    frame.loc[[13], "cut"] = "Premum"
    frame.loc[99, "y"] = frame.loc[99, "y"] * 10
    return frame


def write(path: Path, n: int = 3000, seed: int = 7) -> Path:
    diamonds(n, seed).to_csv(path, index=False)
    return path
