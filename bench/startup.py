"""Start-up time: from process start to the main window on screen, whole process.

Runs ``python -m mlops_desktop --quit-after-show`` five times (offscreen unless a
display is set) and prints each time and the median. Target: 1.5 s.
Usage: python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

TARGET_S = 1.5


def one_run(env: dict[str, str]) -> tuple[float, float]:
    """Seconds to the window on screen, and to the workspace loaded into it."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "mlops_desktop", "--quit-after-show"],
                            stdout=subprocess.PIPE, text=True, env=env)
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
    args = parser.parse_args()
    env = dict(os.environ)
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory() as home:
        for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
            env[var] = os.path.join(home, var.lower())
        one_run(env)  # warm the OS file cache, as a second launch would be
        runs = [one_run(env) for _ in range(args.runs)]
    shown = [r[0] for r in runs]
    ready = [r[1] for r in runs]
    median = statistics.median(shown)
    print(f"platform: {env.get('QT_QPA_PLATFORM', 'native')}")
    print("window on screen (s):  " + ", ".join(f"{t:.3f}" for t in shown))
    print("workspace loaded (s):  " + ", ".join(f"{t:.3f}" for t in ready))
    print(f"median to window: {median:.3f} s  (target {TARGET_S} s, ratio {median / TARGET_S:.2f})")
    print(f"median to workspace loaded: {statistics.median(ready):.3f} s")


if __name__ == "__main__":
    main()
