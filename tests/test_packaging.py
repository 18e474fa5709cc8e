"""Desktop integration and packaging: the Linux launcher and its installer, the icons,
the names the window carries, the bundle's entry point. (The bundle itself is built and
smoke-tested by ``make package`` and ``make smoke`` in CI.)"""

from __future__ import annotations

import ast
import configparser
import importlib.util
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGING = ROOT / "packaging"
DESKTOP_FILE = PACKAGING / "linux" / "mlops-desktop.desktop"
ICONS = ROOT / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _module(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _desktop_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


def test_desktop_file_names_the_window_class_the_icon_and_the_gui_command():
    import tomllib

    from mlops_desktop.gui.app import DESKTOP_NAME

    entry = _desktop_entry(DESKTOP_FILE)
    assert DESKTOP_FILE.stem == DESKTOP_NAME  # the Wayland app id is the file's name
    assert entry["StartupWMClass"] == DESKTOP_NAME
    assert entry["Icon"] == DESKTOP_NAME and entry["Terminal"] == "false"
    gui_scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["gui-scripts"]
    assert entry["Exec"] in gui_scripts and entry["TryExec"] == entry["Exec"]


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_desktop_file_passes_desktop_file_validate():
    proc = subprocess.run(["desktop-file-validate", str(DESKTOP_FILE)], capture_output=True, text=True)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


def test_app_carries_the_window_class_desktop_name_and_every_icon_size():
    code = ("from mlops_desktop.gui.app import create_application\n"
            "app = create_application()\n"
            "sizes = sorted(s.width() for s in app.windowIcon().availableSizes())\n"
            "print(app.applicationName(), app.desktopFileName(), *sizes)\n")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    name, desktop_name, *sizes = proc.stdout.split()
    assert name == desktop_name == "mlops-desktop"
    assert [int(s) for s in sizes] == list(SIZES)


def test_png_icons_are_renderings_of_the_svg_master(qapp):
    from PySide6.QtGui import QImage

    render_icons = _module(PACKAGING / "render_icons.py")
    assert render_icons.SIZES == SIZES
    for size in SIZES:
        committed = QImage(str(ICONS / f"mlops-desktop-{size}.png"))
        fresh = QImage.fromData(render_icons.render(size))
        assert (committed.width(), committed.height()) == (size, size)
        assert committed.hasAlphaChannel()
        a = committed.convertToFormat(QImage.Format.Format_RGBA8888)
        b = fresh.convertToFormat(QImage.Format.Format_RGBA8888)
        pa, pb = bytes(a.constBits()), bytes(b.constBits())
        mean_difference = sum(abs(x - y) for x, y in zip(pa, pb)) / len(pa)
        # re-run packaging/render_icons.py after editing the SVG
        assert mean_difference < 2.0, f"{size}px icon differs from the SVG by {mean_difference:.1f}"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    return struct.unpack(">II", data[16:24])


def test_windows_and_macos_icon_files_hold_the_pngs():
    ico = (PACKAGING / "icons" / "mlops-desktop.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind, count) == (0, 1, 7)
    sizes = []
    for i in range(count):
        width, height, _c, _r, _planes, _bits, length, offset = struct.unpack(
            "<BBBBHHII", ico[6 + 16 * i: 22 + 16 * i])
        png = ico[offset: offset + length]
        assert _png_size(png) == ((width or 256), (height or 256))
        sizes.append(width or 256)
    assert sizes == [16, 24, 32, 48, 64, 128, 256]

    icns = (PACKAGING / "icons" / "mlops-desktop.icns").read_bytes()
    assert icns[:4] == b"icns" and struct.unpack(">I", icns[4:8])[0] == len(icns)
    at, found = 8, {}
    while at < len(icns):
        kind, length = icns[at: at + 4], struct.unpack(">I", icns[at + 4: at + 8])[0]
        found[kind] = _png_size(icns[at + 8: at + length])[0]
        at += length
    assert found == {b"icp4": 16, b"icp5": 32, b"icp6": 64, b"ic07": 128, b"ic08": 256, b"ic09": 512,
                     b"ic10": 1024}


@pytest.mark.skipif(sys.platform == "win32" or shutil.which("bash") is None, reason="a Linux script")
def test_install_script_installs_the_launcher_for_the_user_and_removes_it(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k != "XDG_DATA_HOME"}
    env["HOME"] = str(tmp_path)
    command = "/opt/My Apps/mlops desktop"
    proc = subprocess.run(["bash", str(PACKAGING / "linux" / "install.sh"), "--exec", command],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    share = tmp_path / ".local" / "share"
    installed = share / "applications" / "mlops-desktop.desktop"
    entry = _desktop_entry(installed)
    assert entry["Exec"] == f'"{command}"' and entry["TryExec"] == command  # quoted: it holds spaces
    assert entry["StartupWMClass"] == _desktop_entry(DESKTOP_FILE)["StartupWMClass"]
    for size in SIZES:
        icon = share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "mlops-desktop.png"
        assert icon.read_bytes() == (ICONS / f"mlops-desktop-{size}.png").read_bytes()
    assert (share / "icons" / "hicolor" / "scalable" / "apps" / "mlops-desktop.svg").is_file()
    if shutil.which("desktop-file-validate"):
        assert subprocess.run(["desktop-file-validate", str(installed)]).returncode == 0

    proc = subprocess.run(["bash", str(PACKAGING / "linux" / "install.sh"), "--uninstall"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert not installed.exists()
    assert not list((share / "icons").rglob("mlops-desktop.*"))


def _spec_list(name: str) -> list[str]:
    tree = ast.parse((PACKAGING / "mlops-desktop.spec").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not found in the spec")


def test_bundle_excludes_no_qt_module_the_app_or_pyqtgraph_imports():
    excluded = set(_spec_list("QT_UNUSED")) | set(_spec_list("QT_ADDONS"))
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "src").rglob("*.py"))
    used = set(re.findall(r"PySide6\.(Qt\w+)", source))
    for names in re.findall(r"from PySide6 import \(?([\w\s,]+)\)?", source):
        used |= {n.strip() for n in names.split(",") if n.strip().startswith("Qt")}
    used |= {"QtCore", "QtGui", "QtWidgets", "QtSvg",
             "QtOpenGL", "QtOpenGLWidgets"}  # pyqtgraph imports these two unconditionally
    assert not used & excluded
    assert {"QtWebEngineCore", "QtWebEngineWidgets", "QtNetwork", "QtQml"} <= excluded


def test_launcher_runs_joblib_helpers_and_nothing_else(monkeypatch):
    import builtins

    launcher = _module(PACKAGING / "launcher.py")
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    for argv in (["app"], ["app", "train", "penguins"], ["app", "-m", "json.tool"], ["app", "-c", "print(1)"],
                 ["app", "import", "-c"], ["app", "import", "x.csv", "-c", launcher.LOKY_TRACKER]):
        assert not launcher.run_helper_process(argv), argv
    probe = f"{launcher.LOKY_TRACKER}; import builtins; builtins._mlops_probe = main"
    try:
        assert launcher.run_helper_process(["app", "-B", "-S", "-I", "-c", probe, "7"])
        from joblib.externals.loky.backend.resource_tracker import main

        assert builtins._mlops_probe is main and sys.argv == ["app", "7"]
    finally:
        builtins.__dict__.pop("_mlops_probe", None)
