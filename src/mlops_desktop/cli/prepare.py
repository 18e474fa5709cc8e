"""The prepare command: a recipe (a JSON file, steps written as the app shows them, or
both) applied to a dataset makes a new dataset."""

from __future__ import annotations

import argparse
from typing import Any

from .common import EXIT_OK, add_actor, add_common, emit, open_workspace, progress_for, table, who


def register(sub: Any) -> dict:
    p = sub.add_parser(
        "prepare", help="apply a recipe (filters, derived columns, fixes, recodes, orders, casts) to a dataset",
        description="Apply a recipe to a dataset: the result is a new dataset whose lineage names the dataset "
                    "and the recipe. Steps are written as the app shows them: 'filter carat <= 2.5', "
                    "'derive log_price = log(price)', 'replace x == 0 with missing', 'recode cut: Goood -> Good', "
                    "'order cut: Fair < Good < Very Good < Premium < Ideal', 'cast zip as category', "
                    "'drop depth', 'drop duplicates'.")
    p.add_argument("dataset", metavar="DATASET", help="dataset id or name")
    p.add_argument("--recipe", metavar="FILE.json", help="a recipe file (as the app saves one, or a JSON list "
                                                         "of steps)")
    p.add_argument("--step", action="append", default=[], metavar="STEP",
                   help="a step in words (repeat for more; after the recipe file's steps)")
    p.add_argument("--name", metavar="NEW", help="the new dataset's name (default: DATASET (prepared))")
    p.add_argument("--preview", action="store_true",
                   help="only say what each step would do (on a sample of large datasets); make no dataset")
    add_common(p)
    add_actor(p)
    return {"prepare": cmd_prepare}


def cmd_prepare(args: argparse.Namespace) -> int:
    from ..core.errors import InvalidChoiceError
    from ..core.prepare import Recipe, prepare_dataset, read_recipe, recipe_from_words

    if not args.recipe and not args.step:
        raise InvalidChoiceError("Give the recipe: --recipe FILE.json and/or --step \"STEP\" (repeatable).")
    recipe = recipe_from_words(args.step, base=read_recipe(args.recipe) if args.recipe else Recipe())
    if args.preview:
        return _preview(args, recipe)
    with open_workspace(args, create=False) as ws:
        result = prepare_dataset(ws, args.dataset, recipe, name=args.name, actor=who(args),
                                 progress=progress_for(args))

    def text() -> str:
        ds, parent = result.dataset, result.parent
        lines = [f"Prepared dataset {ds.id}: {ds.name}",
                 f"  from:        dataset {parent.id} ({parent.name}), {parent.n_rows:,} rows",
                 f"  rows:        {ds.n_rows:,} ({ds.n_rows / parent.n_rows:.1%} kept)",
                 f"  columns:     {ds.n_columns}",
                 f"  fingerprint: {ds.fingerprint}",
                 f"  recipe:      {result.recipe.sha256}"]
        if result.same_data_as:
            lines.append(f"  same data as dataset(s) {', '.join(map(str, result.same_data_as))}")
        return "\n".join(lines) + "\n\n" + _effects_table(result.effects)

    emit(args, result.to_dict(), text)
    return EXIT_OK


def _effects_table(effects: list[Any]) -> str:
    from ..core.prepare import effect_in_words

    return table([[i, e.step, effect_in_words(e)] for i, e in enumerate(effects, start=1)],
                 ["#", "STEP", "EFFECT"])


def _preview(args: argparse.Namespace, recipe: Any) -> int:
    from ..core.prepare import PrepareError, dataset_preview_sample, preview_recipe

    with open_workspace(args, create=False, only_reading=True) as ws:
        ds = ws.dataset(args.dataset)
        sample = dataset_preview_sample(ws, ds)
    shown = preview_recipe(sample, recipe, of_rows=ds.n_rows)
    data = {"dataset": {"id": ds.id, "name": ds.name, "rows": ds.n_rows}, "preview_rows": shown.rows,
            "sampled": shown.sampled, "steps": [s.__dict__ for s in shown.steps],
            "failed_step": None if shown.failed_step is None else shown.failed_step + 1, "error": shown.error,
            "columns": shown.columns_after}

    def text() -> str:
        head = f"Preview on {'a sample of ' if shown.sampled else ''}{shown.rows:,} rows of {ds.name}:"
        return head + "\n" + _effects_table(shown.steps)

    emit(args, data, text)
    if shown.error:
        raise PrepareError(f"Step {shown.failed_step + 1} ({recipe.steps[shown.failed_step].describe()}) "
                           f"cannot be applied: {shown.error}")
    return EXIT_OK
