"""Start-up time: from process start to the main window on screen, whole process.

Runs ``python -m mlops_desktop --quit-after-show`` five times (offscreen unless a
display is set) and prints each time and the median. Target: 1.5 s. With ``--bundle``
it times the packaged app instead (``make package`` builds it into dist/).
Each run opens the same workspace in a temporary folder (the first, untimed run
creates it), as a second day's start would.
Usage: python bench/startup.py [--runs N] [--bundle [EXECUTABLE]]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 1.5
BUNDLE = Path(__file__).resolve().parent.parent / "dist" / "mlops-desktop" / (
    "mlops-desktop.exe" if sys.platform == "win32" else "mlops-desktop")


def one_run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Seconds to the window on screen, and to the workspace loaded into it."""
    start = time.perf_counter()
    proc = subprocess.Popen([*command, "--quit-after-show"], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    shown = ready = None
    for line in proc.stdout:
        if line.startswith("window-shown"):
            shown = time.perf_counter() - start
        elif line.startswith("workspace-ready"):
            ready = time.perf_counter() - start
    proc.wait(timeout=60)
    if shown is None or ready is None:
        raise SystemExit("the app did not report its start-up")
    return shown, ready


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bundle", nargs="?", const=str(BUNDLE), metavar="EXECUTABLE",
                        help=f"time the packaged app (default: {BUNDLE})")
    args = parser.parse_args()
    if args.bundle and not Path(args.bundle).is_file():
        raise SystemExit(f"No packaged app at {args.bundle}: build it with make package.")
    env = dict(os.environ)
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory() as home:
        for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
            env[var] = os.path.join(home, var.lower())
        command = [args.bundle] if args.bundle else [sys.executable, "-m", "mlops_desktop"]
        command += ["--workspace", os.path.join(home, "workspace")]
        one_run(command, env)  # warm the OS file cache, as a second launch would be
        runs = [one_run(command, env) for _ in range(args.runs)]
    shown = [r[0] for r in runs]
    ready = [r[1] for r in runs]
    median = statistics.median(shown)
    print(f"app: {args.bundle or 'python -m mlops_desktop'}")
    print(f"platform: {env.get('QT_QPA_PLATFORM', 'native')}")
    print("window on screen (s):  " + ", ".join(f"{t:.3f}" for t in shown))
    print("workspace loaded (s):  " + ", ".join(f"{t:.3f}" for t in ready))
    print(f"median to window: {median:.3f} s  (target {TARGET_S} s, ratio {median / TARGET_S:.2f})")
    print(f"median to workspace loaded: {statistics.median(ready):.3f} s")


if __name__ == "__main__":
    main()
