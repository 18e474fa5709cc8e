"""Issue 16 from the command line: retrain → challenge → approve → promote → roll back, and
a family of segment models renewed segment by segment; the exit codes a scheduled job
reads (0: the challenger wins by the rule, 4: it does not, 2: bad input) and ``--json``."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from conftest import DATA, run_cli
from mlops_desktop.cli import run


#: commands that only read, and take no --as
READING = {"challenges", "verify", "show"}


def cli(root: Path, *args: str, who: str = "ann") -> tuple[int, str, str]:
    """Run a command in this process as ``who``: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    acting = [] if READING & set(args[:2]) else ["--as", who]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = run([*args, "--workspace", str(root), *acting])
        except SystemExit as exc:  # argparse's own refusal of a missing argument
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def cli_json(root: Path, *args: str, who: str = "ann", code: int = 0) -> dict:
    got, out, err = cli(root, *args, "--json", who=who)
    assert got == code, (got, out, err)
    return json.loads(out)


def test_retrain_challenge_approve_promote_and_roll_back(tmp_path):
    df = pd.read_csv(DATA / "flights_6000.csv")
    df["late"] = np.where(df["arr_delay"].isna(), None, np.where(df["arr_delay"] > 15, "yes", "no"))
    root = tmp_path / "ws"
    for name, months in (("early", range(1, 7)), ("later", range(7, 11)), ("all", range(1, 13))):
        df[df["month"].isin(months)].to_csv(tmp_path / f"{name}.csv", index=False)
        assert cli(root, "import", str(tmp_path / f"{name}.csv"), "--name", f"flights_{name}")[0] == 0
    trained = cli_json(root, "train", "flights_early", "--target", "late", "--features",
                       "dep_delay,distance,hour,carrier,origin", "--model", "logistic", "--split", "time:time_hour",
                       "--segment-by", "origin", "--cv", "3", "--name", "late")
    assert trained["version"] == 1
    assert cli(root, "validate", "late:1", "--bootstrap", "50")[0] == 0
    assert cli(root, "models", "stage", "late:1", "validated", "--override", "test model")[0] == 0
    assert cli(root, "models", "stage", "late:1", "approved", "--comment", "fine", who="bob")[0] == 0
    assert cli(root, "models", "alias", "late", "production", "1", who="bob")[0] == 0

    retrained = cli_json(root, "retrain", "late:1", "--data", "flights_later")
    assert retrained["parent"] == "late:1" and retrained["challenger"] == "late:2"
    code, text, _ = cli(root, "retrain", "late:1", "--data", "flights_early", "--data", "flights_later",
                        "--window", "since:2013-04-01")
    assert code == 0 and "late:3 (draft, alias challenger) retrained from late:1" in text

    # the exit code a scheduled job reads; the process's own, as cron sees it
    done = run_cli("challenge", "late:2", "--on", "flights_all", "--holdout", "since:2013-11-01", "--bootstrap",
                   "200", "--workspace", str(root), "--as", "ann")
    assert done.returncode == 4, done.stderr
    assert "Rule, declared before scoring: superiority on ROC AUC" in done.stdout
    assert "The challenger does not win (exit 4); nothing was promoted." in done.stdout
    assert "Per segment of origin (ROC AUC)" in done.stdout and "McNemar's test" in done.stdout
    won = cli_json(root, "challenge", "late:2", "--on", "flights_all", "--holdout", "since:2013-11-01",
                   "--rule", "non-inferiority", "--margin", "0.02", "--bootstrap", "200")
    assert won["wins"] and won["exit_code"] == 0 and won["rule"] == {"metric": "roc_auc", "rule": "non-inferiority",
                                                                     "margin": 0.02}
    assert {"metrics", "mcnemar", "calibration", "segments", "row_checks", "sentence"} <= set(won)
    for bad, words in ((["--holdout", "since:2013-08-01"], "not out of time for late:2"),
                       (["--holdout", "latest:2"], "between 0 and 1"),
                       (["--holdout", "latest:0.2", "--metric", "rmse"], "not a metric of a binary model"),
                       (["--holdout", "latest:0.2", "--against", "staging"], "has no staging version")):
        code, _, err = cli(root, "challenge", "late:2", "--on", "flights_all", *bad)
        assert code == 2 and words in err, (bad, err)

    listed = cli_json(root, "challenges", "late")
    assert [c["verdict"] for c in listed] == ["not worse", "inconclusive"]
    shown = cli_json(root, "challenges", "--show", str(won["challenge_id"]))
    assert shown["status"] == "decided" and shown["report"]["wins"] is True
    assert shown["declaration"]["rule"]["margin"] == 0.02

    # promotion waits for approval by a second person; then one recorded move, and back
    code, _, err = cli(root, "promote", "late:2", who="bob")
    assert code == 2 and "only an approved version can hold the alias 'production'" in err
    assert cli(root, "validate", "late:2", "--bootstrap", "50")[0] == 0
    assert cli(root, "models", "stage", "late:2", "validated", "--override", "test model")[0] == 0
    code, _, err = cli(root, "models", "stage", "late:2", "approved", "--comment", "mine")
    assert code == 2 and "four eyes" in err
    assert cli(root, "models", "stage", "late:2", "approved", "--comment", "read challenge 2", who="bob")[0] == 0
    code, text, _ = cli(root, "promote", "late:2", "--comment", "not worse on the latest months", who="bob")
    assert code == 0 and "production version 1 → version 2" in text and "not worse, won by the rule" in text
    assert cli_json(root, "models", "alias", "late", "production", "--at", "now")["held_by"]["ref"] == "late:2"
    code, _, err = cli(root, "rollback", "late", who="bob")
    assert code == 2 and "--reason" in err
    back = cli_json(root, "rollback", "late", "--reason", "complaints from the planners", who="bob")
    assert back["ref"] == "late:1" and back["from_ref"] == "late:2"
    assert cli_json(root, "models", "alias", "late", "production", "--at", "now")["held_by"]["ref"] == "late:1"

    # many simple models: the segments that passed, taken from the challenger
    assembled = cli_json(root, "promote-segments", str(won["challenge_id"]))
    assert assembled["version"] == "late:4" and assembled["from_challenger"]
    shown = cli_json(root, "models", "show", "late:4")
    assert shown["details"]["origin"]["challenger"]["ref"] == "late:2"
    assert cli(root, "verify")[0] == 0
