#!/usr/bin/env python3
"""Batch scoring for an exported model package (see README.md).

    python score.py INPUT [-o OUTPUT] [--format csv|parquet] [--chunksize N]
                          [--rejects FILE] [--id-columns A,B] [--log FILE]
                          [--delimiter D] [--decimal .|,] [--encoding E]
                          [--monitor-out FILE.json] [--score-out-of-scope]
                          [--reasons N [--reasons-for adverse|all]]
    python score.py --verify
    python score.py --self-test
    python score.py --drift NEW_FILE [--report drift.html] [--delimiter D] [--decimal .|,]

Every run first checks each file of the package against manifest.json (SHA-256) and
refuses to run on a mismatch. When the model was trained on prepared data, each raw row
first goes through the steps of recipe.json (derived columns, values set missing,
recodes, casts) and a row outside the filters the training data went through (the
model's scope) is rejected with the reason, unless --score-out-of-scope. Exit codes:

    0  success (scoring: rejected rows, if any, are in the rejects file)
    1  an unexpected error (details in the log)
    2  a problem with the input: a missing file or column, an unreadable file, a
       bad option, an output that would overwrite the input, or (--drift) a feature
       that could not be compared (and no drift was found)
    3  the package failed verification: a file was changed or removed, or a program
       file was added (other added files are listed by --verify, not refused); or its
       model cannot be loaded (a type model/trusted_types.json does not list, a damaged
       file): nothing is scored
    4  --drift: the batch drifted from the training data (even if some feature could
       not be compared)
    5  --self-test: this machine's predictions differ from those recorded at export
    6  scoring: the file has rows and every one was rejected (the rejects file says why)

Uses the Python standard library and the libraries in requirements.txt only.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# Nothing is imported from this folder before it is verified: a file dropped next to
# this script must not be able to stand in for a library.
if __name__ == "__main__" and sys.path and os.path.abspath(sys.path[0] or os.curdir) == HERE:
    del sys.path[0]

import argparse  # noqa: E402
import hashlib  # noqa: E402
import importlib.machinery  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from datetime import datetime, timezone  # noqa: E402

EXIT_OK, EXIT_ERROR, EXIT_INPUT, EXIT_TAMPERED, EXIT_DRIFT, EXIT_SELF_TEST = 0, 1, 2, 3, 4, 5
EXIT_ALL_REJECTED = 6
MANIFEST = "manifest.json"
#: files Python or a scoring run may add that are not code; anything else unlisted that
#: Python could run (a module, a compiled extension) fails verification
CODE_SUFFIXES = (".py", ".pyc", ".pyo", ".pyd", ".pth", ".so", ".dll", ".dylib")


# -- verification (standard library only) ----------------------------------------------------

def sha256_of(path: str) -> str:
    """The SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_package(folder: str = HERE) -> tuple[list[str], list[str], str]:
    """Check every file listed in manifest.json. Returns (problems, unlisted files that
    are not code, the manifest's own SHA-256)."""
    manifest_path = os.path.join(folder, MANIFEST)
    try:
        with open(manifest_path, "rb") as fh:
            raw = fh.read()
        manifest = json.loads(raw.decode("utf-8"))
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"{MANIFEST} is missing or unreadable ({exc})"], [], ""
    problems = []
    for rel, info in sorted(files.items()):
        path = os.path.join(folder, *rel.split("/"))
        if not os.path.isfile(path):
            problems.append(f"{rel} is missing")
        elif sha256_of(path) != info["sha256"]:
            problems.append(f"{rel} was changed (its SHA-256 no longer matches {MANIFEST})")
    extra = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d != "__pycache__"]  # Python's caches, never read by this script
        # a virtual environment made inside the package holds the libraries, not the package:
        # listed, not checked (its code is only what `pip install -r requirements.txt` put there)
        venvs = [d for d in dirs if os.path.isfile(os.path.join(root, d, "pyvenv.cfg"))]
        dirs[:] = [d for d in dirs if d not in venvs]
        extra += [os.path.relpath(os.path.join(root, d), folder).replace(os.sep, "/") + "/ (a virtual environment)"
                  for d in venvs]
        for name in names:
            rel = os.path.relpath(os.path.join(root, name), folder).replace(os.sep, "/")
            if rel == MANIFEST or rel in files:
                continue
            if name.lower().endswith(CODE_SUFFIXES):
                problems.append(f"{rel} is not part of the package (an added program file)")
            else:
                extra.append(rel)
    return problems, extra, hashlib.sha256(raw).hexdigest()


SUPPORT = "mlops_model_support"


class _SourceOnly(importlib.machinery.SourceFileLoader):
    """Compiles the verified source file itself, never a bytecode cache beside it (a
    cache is not in the manifest) and writes none."""

    def get_code(self, fullname):
        return compile(self.get_data(self.path), self.path, "exec", dont_inherit=True)


class _SupportFinder:
    """Finds the package's own code in this folder, and nothing else there."""

    def find_spec(self, name, path=None, target=None):
        if name != SUPPORT and not name.startswith(SUPPORT + "."):
            return None
        base = os.path.join(HERE, *name.split("."))
        if os.path.isdir(base):
            file, search = os.path.join(base, "__init__.py"), [base]
        else:
            file, search = base + ".py", None
        if not os.path.isfile(file):
            return None
        return importlib.util.spec_from_file_location(name, file, loader=_SourceOnly(name, file),
                                                      submodule_search_locations=search)


def support():
    """The package's own code, imported after verification."""
    if not any(isinstance(f, _SupportFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _SupportFinder())
    from mlops_model_support import scoring

    return scoring


# -- the run ---------------------------------------------------------------------------------

class Log:
    """Lines with a time stamp to the log file (and errors to stderr)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._fh = None
        if path:
            try:
                self._fh = open(path, "a", encoding="utf-8")
            except OSError as exc:
                print(f"warning: cannot write the log {path}: {exc}", file=sys.stderr)

    def __call__(self, message: str) -> None:
        """Write one line with a UTC time stamp to the log file (nothing when there is none)."""
        if self._fh is not None:
            stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            self._fh.write(f"{stamp} {message}\n")
            self._fh.flush()

    def close(self) -> None:
        """Close the log file."""
        if self._fh is not None:
            self._fh.close()


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line of score.py."""
    p = argparse.ArgumentParser(prog="score.py", description="Score a CSV or Parquet file with this model "
                                "package, check it, or check a batch for drift. See README.md.")
    p.add_argument("input", nargs="?", help="the CSV or Parquet file to score")
    p.add_argument("-o", "--output", help="where to write the scores (default: INPUT.scored.csv next to it)")
    p.add_argument("--format", choices=["csv", "parquet"], help="output format (default: from the output's "
                   "suffix, else csv)")
    p.add_argument("--chunksize", type=int, default=250_000, metavar="N",
                   help="rows per chunk (default 250000); memory stays bounded whatever the file's size")
    p.add_argument("--rejects", metavar="FILE", help="rejected rows with the reason (default: "
                   "OUTPUT.rejects.csv, written only when a row is rejected)")
    p.add_argument("--id-columns", metavar="A,B", help="input columns copied to the output (default: the "
                   "id columns listed in schema.json that the file has)")
    p.add_argument("--log", metavar="FILE", help="the log file (default: OUTPUT.log; for --drift "
                   "and --self-test: score.log in the current folder; never inside the package folder: "
                   "a log that would be is written to the folder PACKAGE-logs beside it)")
    p.add_argument("--delimiter", metavar="D", help="the CSV file's delimiter, e.g. ';' or '\\t' for a tab "
                   "(default: the training file's, see schema.json input_file; a tab for .tsv)")
    p.add_argument("--decimal", choices=[".", ","], help="the decimal mark of numbers in the CSV file "
                   "(default: the training file's)")
    p.add_argument("--encoding", metavar="E", help="the CSV file's encoding, e.g. utf-8, cp1252, latin-1 "
                   "(default: the training file's; a UTF-8 byte-order mark is always accepted)")
    p.add_argument("--verify", action="store_true", help="check every file against manifest.json and stop")
    p.add_argument("--self-test", action="store_true", help="score examples/input.csv and compare with "
                   "examples/expected_output.csv")
    p.add_argument("--drift", metavar="NEW_FILE", help="compare a batch with the training data's profile")
    p.add_argument("--report", metavar="FILE.html", help="with --drift: also write an HTML report")
    p.add_argument("--score-out-of-scope", action="store_true",
                   help="score rows outside the model's scope too (rows the filters of its training data would "
                        "have left out; see schema.json recipe.scope), instead of rejecting them; they are counted")
    p.add_argument("--monitor-out", metavar="FILE.json", help="when scoring: also write the run's monitoring "
                   "summary (counts on the training data's bins, the predictions' distribution, the estimated "
                   "performance; no rows, no values of any row) for the analyst's app")
    p.add_argument("--reasons", type=int, metavar="N", help="when scoring: add per row the N columns that pushed "
                   "its score most towards its decision, with the row's values and their contributions "
                   "(reason_1, reason_1_value, reason_1_contribution, ...; see README.md)")
    p.add_argument("--reasons-for", choices=["adverse", "all"], default=None, help="with --reasons: give "
                   "reasons to every row (all, the default) or only to the rows decided positive at the "
                   "decision threshold (adverse)")

    def error(message: str) -> None:
        p.print_usage(sys.stderr)
        print(f"score.py: error: {message}", file=sys.stderr)
        sys.exit(EXIT_INPUT)

    p.error = error  # type: ignore[method-assign]
    args = p.parse_args(argv)
    modes = sum([bool(args.verify), bool(args.self_test), bool(args.drift), bool(args.input)])
    if modes != 1:
        error("give an INPUT file to score, or one of --verify, --self-test, --drift NEW_FILE")
    if args.chunksize < 1:
        error("--chunksize must be at least 1")
    if args.monitor_out and not args.input:
        error("--monitor-out goes with an INPUT file to score")
    if args.score_out_of_scope and not args.input:
        error("--score-out-of-scope goes with an INPUT file to score")
    if args.reasons is not None and not args.input:
        error("--reasons goes with an INPUT file to score")
    if args.reasons is not None and not 1 <= args.reasons <= 20:
        error("--reasons takes a number of reasons per row from 1 to 20")
    if args.reasons_for is not None and args.reasons is None:
        error("--reasons-for goes with --reasons N")
    if args.monitor_out and inside_package(args.monitor_out):
        error("--monitor-out must not write into the package folder (its files are checked against "
              "manifest.json); choose a file outside it")
    if args.delimiter is not None:
        args.delimiter = {"\\t": "\t", "tab": "\t"}.get(args.delimiter.lower(), args.delimiter)
        if len(args.delimiter) != 1:
            error(f"--delimiter takes one character (or '\\t' for a tab), not {args.delimiter!r}")
    return args


def inside_package(path: str) -> bool:
    """Whether ``path`` lies in the package folder (where nothing may be added)."""
    here = os.path.normcase(os.path.realpath(HERE))
    target = os.path.normcase(os.path.realpath(path))
    return target == here or target.startswith(here.rstrip(os.sep) + os.sep)


def log_outside_package(path: str) -> str:
    """``path``, or, when it lies in the package folder, the same name in the folder
    PACKAGE-logs beside the package (a file added to the package would show up in
    --verify, and the package folder may be read-only)."""
    if not inside_package(path):
        return path
    folder = os.path.join(os.path.dirname(os.path.realpath(HERE)), os.path.basename(HERE) + "-logs")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        pass  # the log then warns that it cannot be written, and the run goes on
    return os.path.join(folder, os.path.basename(path))


def same_file(a: str, b: str) -> bool:
    """Whether two paths name one file (the same path, a link, or a hard link)."""
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def overwrites_input(args: argparse.Namespace, output: str | None, log_path: str | None) -> str | None:
    """Why this run would write over the file it reads, or None."""
    source = args.input or args.drift
    if not source:
        return None
    written = [("output", output), ("rejects file", args.rejects), ("log", log_path), ("report", args.report),
               ("monitoring summary", args.monitor_out)]
    for what, path in written:
        if path and same_file(source, path):
            return f"the {what} {path} is the input file itself; choose another name (scoring never " \
                   "overwrites its input)"
    return None


def reading_options(args: argparse.Namespace, schema: dict) -> dict:
    """How to read a CSV file: the options given, else the training file's (schema.json);
    a .tsv file is tab-separated unless told otherwise."""
    recorded = schema.get("input_file") or {}
    source = args.input or args.drift or ""
    delimiter = args.delimiter
    if delimiter is None and not source.lower().endswith(".tsv"):
        delimiter = recorded.get("delimiter") or ","
    return {"delimiter": delimiter, "decimal": args.decimal or recorded.get("decimal") or ".",
            "encoding": args.encoding or recorded.get("encoding") or "utf-8"}


def summary_line(data: dict) -> None:
    """Print the run's one-line JSON summary (last on standard output)."""
    try:
        print(json.dumps(data, ensure_ascii=False, allow_nan=False, default=str), flush=True)
    except BrokenPipeError:  # the reader went away (e.g. `| head`): the log has it all
        pass


def main(argv: list[str] | None = None) -> int:
    """Score a file, check the package (--verify, --self-test) or a batch for drift; the exit code."""
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    started = time.perf_counter()
    output = None
    if args.input:
        output = args.output or default_output(args.input, args.format)
        log_path = args.log or log_outside_package(f"{output}.log")
    else:
        log_path = args.log or (log_outside_package(os.path.abspath("score.log")) if not args.verify else None)
    refusal = overwrites_input(args, output, log_path)
    if refusal:
        print(f"error: {refusal}", file=sys.stderr)
        summary_line({"status": "input error", "error": refusal})
        return EXIT_INPUT
    log = Log(log_path)
    try:
        problems, extra, manifest_sha = verify_package()
        if problems:
            for p in problems:
                log(f"VERIFY FAILED: {p}")
            print("error: the package failed verification; it will not run:\n  " + "\n  ".join(problems),
                  file=sys.stderr)
            summary_line({"status": "tampered", "problems": problems, "manifest_sha256": manifest_sha})
            return EXIT_TAMPERED
        log(f"Package verified (manifest SHA-256 {manifest_sha})")
        if args.verify:
            summary_line({"status": "ok", "verified": True, "manifest_sha256": manifest_sha,
                          "unlisted_files": extra})
            return EXIT_OK
        scoring = support()
        package = scoring.ModelPackage(HERE)
        if args.self_test:
            return self_test(scoring, package, log, started)
        if args.drift:
            return drift(scoring, package, args, log, started)
        reading = reading_options(args, package.schema)
        log(f"Scoring {args.input} with {package.ref} into {output} (reading: delimiter "
            f"{reading['delimiter']!r}, decimal {reading['decimal']!r}, encoding {reading['encoding']})")
        ids = [c.strip() for c in args.id_columns.split(",") if c.strip()] if args.id_columns else None
        monitor = package.monitor() if args.monitor_out else None
        reason_codes = package.reason_codes(args.reasons, args.reasons_for or "all") if args.reasons else None
        summary = package.score_file(args.input, output, fmt=args.format, chunk_rows=args.chunksize,
                                     rejects=args.rejects, id_columns=ids, log=log, monitor=monitor,
                                     score_out_of_scope=args.score_out_of_scope, reason_codes=reason_codes,
                                     **reading)
        summary["log"] = log_path
        if monitor is not None:
            write_monitor_summary(args.monitor_out, monitor, summary, manifest_sha)
            summary["monitor_out"] = args.monitor_out
            log(f"Monitoring summary written to {args.monitor_out}")
        log("Done: " + json.dumps(summary, default=str))
        summary_line(summary)
        if summary["status"] == scoring.ALL_REJECTED:
            print(f"error: every one of the {summary['rows_read']:,} rows was rejected; the reasons are in "
                  f"{summary['rejects']}", file=sys.stderr)
            return EXIT_ALL_REJECTED
        return EXIT_OK
    except Exception as exc:
        scoring_mod = sys.modules.get("mlops_model_support.scoring")
        if scoring_mod is not None and isinstance(exc, scoring_mod.ModelLoadError):
            log(f"MODEL NOT LOADED: {exc}")
            print(f"error: {exc} Nothing was scored; ask the contacts in README.md for an intact package.",
                  file=sys.stderr)
            summary_line({"status": "model not loaded", "error": str(exc)})
            return EXIT_TAMPERED
        if scoring_mod is not None and isinstance(exc, scoring_mod.InputError):
            log(f"INPUT PROBLEM: {exc}")
            print(f"error: {exc}", file=sys.stderr)
            summary_line({"status": "input error", "error": str(exc)})
            return EXIT_INPUT
        log("UNEXPECTED ERROR:\n" + traceback.format_exc())
        print(f"error: {type(exc).__name__}: {exc} (details in {log_path or 'the log'})", file=sys.stderr)
        summary_line({"status": "error", "error": f"{type(exc).__name__}: {exc}"})
        return EXIT_ERROR
    finally:
        log.close()


def write_monitor_summary(path: str, monitor, run: dict, manifest_sha: str) -> None:
    """The run's monitoring summary (see mlops_model_support/monitoring.py), written
    under a temporary name and renamed when complete."""
    with open(os.path.join(HERE, MANIFEST), encoding="utf-8") as fh:
        manifest = json.load(fh)
    package = {"model": manifest.get("model"), "version": manifest.get("version"),
               "task": manifest.get("task"), "artifact_sha256": manifest.get("artifact_sha256"),
               "model_file_sha256": manifest["files"]["model/model.skops"]["sha256"],
               "manifest_sha256": manifest_sha, "exporter": manifest.get("exporter")}
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = monitor.summary(run=run, package=package, scored_at=stamp)
    tmp = f"{path}.{os.getpid()}.partial"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, allow_nan=False, indent=1, sort_keys=True)
            fh.write("\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def default_output(source: str, fmt: str | None) -> str:
    """Where the scores go when no output is named: INPUT.scored.csv (or .parquet) next to the input."""
    base, _ = os.path.splitext(source)
    return f"{base}.scored.{fmt or 'csv'}"


def self_test(scoring, package, log: Log, started: float) -> int:
    """Score the package's example rows and compare with the expected output; the exit code."""
    examples = os.path.join(HERE, "examples")
    work = tempfile.mkdtemp(prefix="score-self-test-")
    try:
        out = os.path.join(work, "output.csv")
        package.score_file(os.path.join(examples, "input.csv"), out, fmt="csv", log=log)
        expected = scoring.read_output(os.path.join(examples, "expected_output.csv"))
        actual = scoring.read_output(out)
        problems = scoring.compare_outputs(expected, actual)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    seconds = round(time.perf_counter() - started, 3)
    if problems:
        for p in problems:
            log(f"SELF-TEST FAILED: {p}")
        print("error: the self-test failed; this machine scores differently from the export:\n  "
              + "\n  ".join(problems), file=sys.stderr)
        summary_line({"status": "self-test failed", "problems": problems, "rows": len(expected),
                      "seconds": seconds})
        return EXIT_SELF_TEST
    log(f"Self-test passed: {len(expected)} example rows scored as at export")
    summary_line({"status": "ok", "self_test": "passed", "rows": len(expected), "seconds": seconds})
    return EXIT_OK


def drift(scoring, package, args: argparse.Namespace, log: Log, started: float) -> int:
    """Check a batch for drift against the training data, write the report if asked; the exit code."""
    log(f"Drift check of {args.drift} against the training data of {package.ref}")
    comparison = package.drift(args.drift, chunk_rows=args.chunksize, **reading_options(args, package.schema))
    d = comparison.dataset
    if args.report:
        with open(args.report, "w", encoding="utf-8") as fh:
            fh.write(scoring.drift_html(comparison, title=f"Drift of {os.path.basename(args.drift)} against "
                                        f"the training data of {package.ref}", source=args.drift))
    features = {r.name: {"verdict": r.verdict, "psi": r.metrics.get("psi"), "decided_by": r.decided_by}
                for r in comparison.features}
    not_comparable = [r.name for r in comparison.features if not r.comparable]
    if d.drifted:  # drift outranks a feature that could not be compared: act on the drift first
        code, status = EXIT_DRIFT, "drift"
    elif not_comparable or d.verdict == "not comparable":
        code, status = EXIT_INPUT, "not comparable"
    else:
        code, status = EXIT_OK, "no drift"
    from mlops_model_support import drift as metrics

    summary = metrics.json_safe({
        "status": status, "verdict": d.verdict, "drifted": d.drifted, "rows": comparison.rows,
        "drifted_share": d.drifted_share, "drifted_features": d.drifted_features,
        "not_comparable": not_comparable, "prediction_drifted": d.prediction_drifted,
        "summary": d.decided_by, "features": features,
        "prediction": ({"verdict": comparison.prediction.verdict,
                        "decided_by": comparison.prediction.decided_by}
                       if comparison.prediction is not None else None),
        "ignored_columns": comparison.extra_columns, "rows_out_of_scope": comparison.out_of_scope,
        "report": args.report,
        "seconds": round(time.perf_counter() - started, 3)})
    log(f"Drift verdict: {d.verdict}. {d.decided_by}")
    for r in comparison.features:
        log(f"  {r.name}: {r.verdict}. {r.decided_by}")
    summary_line(summary)
    return code


if __name__ == "__main__":
    sys.exit(main())
