"""Where a prepared dataset comes from: its recipe, its parent, and the whole way back
to the imported dataset it started from (a dataset may be prepared from a prepared
dataset). A model trained on prepared data carries the row-level steps of that whole
way, so that it scores the raw files the first import read.

Stored recipes are read as data and checked again at every use (their SHA-256, then
every step and expression, see ``mlops_model_support.recipe``): a recipe restored from
someone else's backup is refused with the reason, never run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Optional

from mlops_model_support.recipe import Recipe, RecipeError

from ..errors import WorkspaceError
from ..store import recipes as recipe_rows
from .errors import PrepareError

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from ..store.models import ModelVersion
    from ..workspace import Workspace

#: prepared datasets a chain may pass through before the imported one it started from
MAX_GENERATIONS = 50


@dataclass
class DatasetRecipe:
    """The recipe that prepared a dataset, and its parent."""

    parent: "Dataset"
    recipe: Recipe
    sha256: str
    created_by: str
    created_at: str

    def to_dict(self) -> dict:
        """The recipe of a prepared dataset as ``--json`` prints it: its parent, digest,
        steps in words and as JSON, who made it and when."""
        return {"parent": {"id": self.parent.id, "name": self.parent.name, "fingerprint": self.parent.fingerprint},
                "recipe_sha256": self.sha256, "steps": self.recipe.describe(), "recipe": self.recipe.to_dict(),
                "created_by": self.created_by, "created_at": self.created_at}


def recipe_of(ws: "Workspace", ds: "Dataset") -> Optional[DatasetRecipe]:
    """The recipe that prepared ``ds`` (checked: its hash, every step), or None for an
    imported dataset. Raises :class:`PrepareError` for a stored recipe that is refused."""
    record = recipe_rows.of(ws.registry, ds.id)
    if record is None:
        return None
    if hashlib.sha256(record.recipe_json.encode("utf-8")).hexdigest() != record.recipe_sha256:
        raise WorkspaceError(f"The recipe of dataset {ds.name!r} was changed outside the app (its SHA-256 no "
                             "longer matches); it was not used. Run 'mlops-desktop verify'.")
    try:
        recipe = Recipe.from_json(record.recipe_json)
    except RecipeError as exc:
        raise PrepareError(f"The recipe of dataset {ds.name!r} is refused: {exc} Nothing of it was run.") from None
    return DatasetRecipe(ws.dataset(record.parent_id), recipe, record.recipe_sha256, record.created_by,
                         record.created_at)


@dataclass
class Derivation:
    """A dataset's way back to its import: the imported dataset (``root``), the datasets
    between (oldest first) and the recipe of the whole way (every recipe in order)."""

    dataset: "Dataset"
    root: "Dataset"
    recipe: Recipe
    between: list["Dataset"] = field(default_factory=list)

    @property
    def prepared(self) -> bool:
        """Whether the dataset was prepared (it is not its own import)."""
        return self.root.id != self.dataset.id

    @property
    def prepared_by(self) -> Optional[str]:
        """The SHA-256 of the whole recipe from the import to this dataset; None for an
        imported dataset."""
        return self.recipe.sha256 if self.prepared else None


def derivation(ws: "Workspace", ds: "Dataset") -> Derivation:
    """The way from the imported dataset to ``ds`` (for an imported dataset: itself and
    an empty recipe)."""
    recipes: list[Recipe] = []
    chain: list["Dataset"] = []
    current = ds
    seen = {ds.id}
    while True:
        found = recipe_of(ws, current)
        if found is None:
            break
        recipes.append(found.recipe)
        current = found.parent
        if current.id in seen or len(seen) > MAX_GENERATIONS:
            raise WorkspaceError(f"The recipes of dataset {ds.name!r} lead in a circle or too far back; "
                                 "the registry was changed outside the app. Run 'mlops-desktop verify'.")
        seen.add(current.id)
        chain.append(current)
    steps = Recipe()
    for r in reversed(recipes):
        steps = steps + r
    between = list(reversed(chain[:-1])) if chain else []
    return Derivation(ds, current, steps, between)


def column_orders(ws: "Workspace", ds: "Dataset") -> dict[str, list[str]]:
    """The declared order of each ordered column of ``ds`` (from the recipes that made it)."""
    names = {c.name for c in ds.columns} if ds.columns else None
    orders = derivation(ws, ds).recipe.orders()
    return {c: levels for c, levels in orders.items() if names is None or c in names}


@dataclass
class ModelRecipe:
    """The steps a model version applies to the raw rows it scores: from the recipe of
    its training data's whole way from its import (``whole``), what the model's inputs
    and scope depend on (``recipe``, which an export ships); ``raw_inputs`` the columns
    raw rows must have; ``root`` the import. Filters on the target cannot be checked on
    rows to score (``training_only``)."""

    root: "Dataset"
    whole: Recipe
    inputs: list[str]
    target: str

    @property
    def recipe(self) -> Recipe:
        """The steps of the whole way that the model's inputs and scope depend on: what its
        export applies."""
        return self.whole.for_model(self.inputs, self.target)

    @property
    def raw_inputs(self) -> list[str]:
        """The columns a raw row must have to be scored."""
        return self.whole.raw_inputs(self.inputs, self.target)

    @property
    def training_only(self) -> list[str]:
        """The filters (in words) that rows to score cannot be checked on, because they read
        the target."""
        return [f.describe() for f in self.whole.training_only(self.inputs, self.target)]

    @property
    def sha256(self) -> str:
        """The SHA-256 of the recipe the model applies."""
        return self.recipe.sha256

    def scope(self) -> list[str]:
        """The scope rules, in words ("carat ≤ 2.5")."""
        return [f.in_words() for f in self.recipe.scope_rules()]

    def for_rows(self, columns: Iterable[str]) -> Recipe:
        """The steps for rows with ``columns``: with those that make the target when the
        rows have what it is made from (a labelled batch), else the scoring steps."""
        with_target = self.whole.for_model(self.inputs, self.target, with_target=True)
        needed = self.whole.sources([self.target]) | set(self.raw_inputs)
        present = set(columns)
        return with_target if needed <= present else self.recipe


def model_recipe(ws: "Workspace", mv: "ModelVersion") -> Optional[ModelRecipe]:
    """What ``mv`` applies to raw rows before scoring them, or None when it was trained
    on imported data (or on data whose recipe changed nothing its inputs read)."""
    from ..train import run

    ds = ws.dataset(run(ws, mv.run_id).dataset_id)
    way = derivation(ws, ds)
    if not way.prepared:
        return None
    found = ModelRecipe(way.root, way.recipe, model_inputs(mv), mv.target)
    if not len(found.recipe) and not way.recipe.sources([mv.target]) - {mv.target}:
        return None
    return found


def model_inputs(mv: "ModelVersion") -> list[str]:
    """The columns a version's model reads: its features and its segment column."""
    segment = (mv.details or {}).get("segment_by") if isinstance(mv.details, dict) else None
    return list(dict.fromkeys([*mv.features, *([segment] if segment else [])]))
