"""The packaged app's entry point: the same as ``mlops-desktop`` (no arguments: the
app; a command: the CLI; ``--smoke-test``), plus what a frozen executable needs to
start helper processes.

In the bundle ``sys.executable`` is the app itself, not a Python interpreter.
joblib's process pool (loky, which cross-validation uses on larger data) starts its
workers as ``sys.executable -m joblib.externals.loky.backend.popen_loky_posix ...`` and
its resource tracker as ``sys.executable -c "from joblib...resource_tracker import
main; main(...)"``; loky has no freeze support of its own (joblib/loky#236,
joblib/joblib#1002), so this script recognises those two command lines and does what
Python would have done. ``multiprocessing.freeze_support()`` (PyInstaller's version)
does the same for the standard library's helpers.
"""

from __future__ import annotations

import multiprocessing
import sys

LOKY = "joblib.externals.loky."
LOKY_TRACKER = "from joblib.externals.loky.backend.resource_tracker import main"


def run_helper_process(argv: list[str]) -> bool:
    """Run a joblib/loky helper process if ``argv`` asks for one; True if it did."""
    if len(argv) >= 3 and argv[1] == "-m" and argv[2].startswith(LOKY):
        import runpy

        sys.argv = [argv[0], *argv[3:]]
        runpy.run_module(argv[2], run_name="__main__", alter_sys=True)
        return True
    if "-c" in argv:
        at = argv.index("-c")
        if at + 1 < len(argv) and argv[at + 1].startswith(LOKY_TRACKER) \
                and all(a.startswith("-") for a in argv[1:at]):  # only interpreter flags before -c
            sys.argv = [argv[0], *argv[at + 2:]]
            exec(argv[at + 1], {"__name__": "__main__"})
            return True
    return False


def _name_main_module() -> None:
    """Give this script a module name, so that a loky worker does not try to run it
    again from a path (the bundle holds no such file): workers skip a ``__main__``
    module named ``*.__main__``."""
    from importlib.machinery import ModuleSpec

    sys.modules["__main__"].__spec__ = ModuleSpec("mlops_desktop.__main__", None)


if __name__ == "__main__":
    multiprocessing.freeze_support()
    if run_helper_process(sys.argv):
        sys.exit(0)
    _name_main_module()
    from mlops_desktop.__main__ import main

    sys.exit(main())
