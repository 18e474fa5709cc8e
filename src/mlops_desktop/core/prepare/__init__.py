"""Preparing data in the app: a recipe of filters, derived columns, fixes, recodes,
orders and casts applied to a dataset makes a new dataset whose lineage names its
parent and the recipe; a model trained on it carries the row-level steps to every
place it scores raw rows.

The recipe itself (steps, words, JSON, the restricted evaluator of expressions) is in
``mlops_model_support.recipe`` and ``mlops_model_support.expressions``: every export
package ships it, and score.py applies it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

from mlops_model_support.recipe import Recipe, RecipeError

from .apply import (PrepareResult, RecipePreview, StepPreview, dataset_preview_sample, effect_in_words,
                    prepare_dataset, preview_recipe, preview_sample)
from .derivation import (DatasetRecipe, Derivation, ModelRecipe, column_orders, derivation, model_recipe,
                         recipe_of)
from .errors import PrepareError
from .suggest import Suggestion, label_counts, merge_rare, suggest

__all__ = ["DatasetRecipe", "Derivation", "ModelRecipe", "PrepareError", "PrepareResult", "Recipe",
           "RecipePreview", "StepPreview", "Suggestion", "column_orders", "dataset_preview_sample", "derivation",
           "effect_in_words",
           "label_counts", "merge_rare",
           "model_recipe", "prepare_dataset", "preview_recipe", "preview_sample", "read_recipe",
           "recipe_from_words", "recipe_of", "suggest"]


def read_recipe(path: Path | str) -> Recipe:
    """A recipe from a JSON file (as the app stores one, or a list of steps), every step
    checked; :class:`PrepareError` names what is refused."""
    from mlops_model_support.recipe import MAX_RECIPE_BYTES

    from ..regular_files import open_regular_file

    path = Path(path).expanduser()
    try:
        with open_regular_file(path, error=PrepareError) as fh:
            data = fh.read(MAX_RECIPE_BYTES + 1)  # a larger file is refused without reading it all
    except FileNotFoundError:
        raise PrepareError(f"There is no recipe file {path}.") from None
    except OSError as exc:
        raise PrepareError(f"{path} cannot be read ({exc.strerror or exc}).") from None
    try:
        return Recipe.from_json(data)
    except RecipeError as exc:
        raise PrepareError(f"{path.name}: {exc}") from None


def recipe_from_words(lines: Iterable[str], base: Optional[Recipe] = None) -> Recipe:
    """A recipe from steps written as the app shows them, after ``base``'s steps."""
    try:
        added = Recipe.from_words(lines)
    except RecipeError as exc:
        raise PrepareError(str(exc)) from None
    return (base or Recipe()) + added
