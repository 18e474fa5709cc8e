"""The list of trusted types (core/model_format.py) covers every model the app can train,
and nothing more: a model of every family, task, input kind and segmentation is stored,
and the types its skops file needs beyond skops's defaults are all on the list; the
names a pickle of it refers to are all on the legacy unpickler's list; each file is
reproducible. A new family that needs a new type fails here, not at a user's load."""

from __future__ import annotations

import importlib
import io
import pickle
import shutil

import pytest

from conftest import DATA, SAMPLES

REGRESSION = ["ols", "ridge", "lasso", "elasticnet", "tree", "random_forest", "hgb"]
CLASSIFICATION = ["logistic", "ridge", "lasso", "elasticnet", "tree", "random_forest", "hgb"]
FORMULA_REGRESSION = ("log(body_mass_g) ~ poly(flipper_length_mm, 2) + ns(bill_length_mm, df=3) "
                      "+ C(species, contr.treatment('Gentoo')) * boxcox(bill_depth_mm)")
FORMULA_CLASSIFICATION = "sex ~ log(body_mass_g) + species:bill_depth_mm + center(flipper_length_mm)"
#: (dataset, target, families, extra spec): numeric and categorical inputs throughout
MATRIX = (
    [("flights", "arr_delay", f, {"features": ["dep_delay", "distance", "carrier", "origin"]})
     for f in REGRESSION]
    + [("penguins", "species", f, {}) for f in CLASSIFICATION]  # multiclass
    + [("penguins", "sex", f, {}) for f in CLASSIFICATION]      # binary
    + [("flights", "arr_delay", f, {"features": ["dep_delay", "distance", "origin"],
                                    "segment_by": "carrier", "min_segment_rows": 150})  # small carriers fall back
       for f in ("ols", "hgb")]
    + [("flights", "origin", f, {"features": ["dep_delay", "distance", "carrier", "hour"],
                                 "segment_by": "carrier", "min_segment_rows": 150})
       for f in ("logistic", "tree")]
    # model terms, one formula model per family kind: a log target (its back-transformation),
    # polynomials, splines, a Box–Cox term, interactions and a chosen reference level
    + [("penguins", "body_mass_g", f, {"formula": FORMULA_REGRESSION}) for f in REGRESSION]
    + [("penguins", "sex", f, {"formula": FORMULA_CLASSIFICATION}) for f in ("logistic", "ridge", "hgb")]
    + [("flights", "arr_delay", "ols", {"formula": "arr_delay ~ poly(dep_delay, 2) + origin",
                                       "segment_by": "carrier", "min_segment_rows": 150})]
)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """Every model of the matrix, trained and stored: (label, model, file bytes)."""
    from mlops_desktop.core.train import TrainSpec, find_version, load_model, train
    from mlops_desktop.core.workspace import Workspace

    base = tmp_path_factory.mktemp("families")
    shutil.copy(SAMPLES / "penguins.csv", base / "penguins.csv")
    # a quarter of the flights sample: every family still sees numbers, categories and
    # carriers too small for a model of their own
    flights = (DATA / "flights_6000.csv").read_text().splitlines(keepends=True)
    (base / "flights.csv").write_text("".join(flights[:1501]))
    out = []
    with Workspace.create(base / "ws", actor="ann") as ws:
        ws.import_file(base / "penguins.csv", name="penguins", actor="ann")
        ws.import_file(base / "flights.csv", name="flights", actor="ann")
        for i, (dataset, target, family, extra) in enumerate(MATRIX):
            result = train(ws, TrainSpec(dataset=dataset, target=target, models=[family], cv_folds=2,
                                         model_name=f"m{i}", **extra), actor="ann")
            assert result.chosen == family
            mv = find_version(ws, f"m{i}")
            label = (f"{family} on {dataset}.{target}" + (f" by {extra['segment_by']}" if "segment_by" in extra else "")
                     + (" with a formula" if "formula" in extra else ""))
            out.append((label, load_model(ws, mv.ref), (ws.artifacts_dir / mv.artifact_sha256).read_bytes()))
    return out


def test_every_family_needs_only_listed_types_and_loads(stored):
    import skops.io as sio

    from mlops_desktop.core.model_format import TRUSTED_TYPES, model_from_bytes

    needed: set[str] = set()
    for label, _model, data in stored:
        untrusted = set(sio.get_untrusted_types(data=data))
        assert untrusted <= TRUSTED_TYPES, (label, untrusted - TRUSTED_TYPES)
        needed |= untrusted
        model_from_bytes(data)
    # every name on the list is needed by some family: the list holds nothing more
    assert needed == TRUSTED_TYPES


def test_segmented_models_were_trained_with_a_fallback(stored):
    from mlops_desktop.core.train.estimators import SegmentRouter

    routers = [m for label, m, _ in stored if " by " in label]
    assert len(routers) == 5 and all(isinstance(r, SegmentRouter) for r in routers)
    # each has segments of its own and rows that only the fallback scores
    for router in routers:
        assert router.segment_pipelines_ and set(router.segment_rows_) - set(router.segment_pipelines_)


def test_the_list_names_exact_types_never_a_module_or_a_builtin_callable():
    from mlops_desktop.core.model_format import TRUSTED_TYPES

    for name in TRUSTED_TYPES:
        module, _, attr = name.rpartition(".")
        target = getattr(importlib.import_module(module), attr)
        assert not isinstance(target, type(importlib)), f"{name} is a module"
        assert callable(target), name
        assert module != "builtins", name
    for dangerous in ("builtins.eval", "builtins.exec", "builtins.getattr", "builtins.open",
                      "os.system", "subprocess.Popen", "numpy.load", "pickle.loads"):
        assert dangerous not in TRUSTED_TYPES


def test_pickles_of_every_family_refer_only_to_the_legacy_unpicklers_list(stored):
    from mlops_desktop.core.legacy_models import PICKLE_GLOBALS

    seen: set[str] = set()

    class Recorder(pickle.Unpickler):
        def find_class(self, module, name):
            seen.add(f"{module}.{name}")
            return super().find_class(module, name)

    for label, model, _data in stored:
        if label.endswith("with a formula"):
            continue  # no earlier version had model terms: no earlier pickle can hold them
        Recorder(io.BytesIO(pickle.dumps(model, protocol=5))).load()
    assert seen <= PICKLE_GLOBALS, seen - PICKLE_GLOBALS


def test_a_stored_model_file_is_reproducible(stored):
    """The same model gives the same bytes: saved again, after a load, after a pickle
    round trip (what converting an earlier version's file does)."""
    import skops.io as sio

    from mlops_desktop.core.model_format import model_from_bytes, model_to_bytes, reproducible

    for label, model, data in stored:
        assert model_to_bytes(model) == data, label
        assert reproducible(sio.dumps(model)) == data, label  # the quick writer writes what skops would
        assert model_to_bytes(model_from_bytes(data)) == data, label
        assert model_to_bytes(pickle.loads(pickle.dumps(model, protocol=5))) == data, label


def test_a_type_outside_the_list_is_refused_when_saving():
    """A model that would need a new trusted type is never stored (it could not be loaded)."""
    import numpy as np
    from sklearn.preprocessing import FunctionTransformer

    from mlops_desktop.core.model_format import model_to_bytes
    from mlops_desktop.core.train.estimators import numeric_values

    model = FunctionTransformer(numeric_values).fit(np.ones((3, 1)))
    with pytest.raises(ValueError, match="does not trust.*numeric_values"):
        model_to_bytes(model)
