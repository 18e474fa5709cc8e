"""Render the app icon's SVG master into the PNG sizes a desktop asks for, and into the
Windows (.ico) and macOS (.icns) containers the bundle's executable carries.

Usage: python packaging/render_icons.py   (offscreen; commit what it writes)

Writes resources/icons/mlops-desktop-<N>.png for N in SIZES, and
packaging/icons/mlops-desktop.ico and .icns. Both containers hold PNG images, which
Windows (Vista and later) and macOS (10.7 and later) read directly.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "resources" / "icons" / "mlops-desktop.svg"
PNG_DIR = ROOT / "resources" / "icons"
CONTAINER_DIR = ROOT / "packaging" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
#: icns element types holding PNG data, by pixel size
ICNS_TYPES = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08", 512: b"ic09", 1024: b"ic10"}


_APP = None


def _ensure_application() -> None:
    """Qt paints only with an application object (offscreen: no display needed)."""
    global _APP
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    _APP = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])


def render(size: int) -> bytes:
    """The SVG drawn at ``size`` x ``size`` pixels, as PNG bytes."""
    _ensure_application()
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"{SVG} is not a valid SVG for Qt")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.convertToFormat(QImage.Format.Format_ARGB32).save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def ico(pngs: dict[int, bytes]) -> bytes:
    """An .ico file whose entries are PNG images (a width or height of 0 means 256)."""
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = 6 + 16 * len(pngs)
    entries, blobs = b"", b""
    for size, png in sorted(pngs.items()):
        side = 0 if size >= 256 else size
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset)
        blobs += png
        offset += len(png)
    return header + entries + blobs


def icns(pngs: dict[int, bytes]) -> bytes:
    """An .icns file whose elements are PNG images."""
    body = b"".join(ICNS_TYPES[size] + struct.pack(">I", 8 + len(png)) + png
                    for size, png in sorted(pngs.items()))
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main() -> int:
    pngs = {size: render(size) for size in sorted(set(SIZES) | set(ICNS_TYPES))}
    for size in SIZES:
        path = PNG_DIR / f"mlops-desktop-{size}.png"
        path.write_bytes(pngs[size])
        print(f"{path.relative_to(ROOT)}  {len(pngs[size]):,} bytes")
    CONTAINER_DIR.mkdir(exist_ok=True)
    for path, data in ((CONTAINER_DIR / "mlops-desktop.ico", ico({s: pngs[s] for s in ICO_SIZES})),
                       (CONTAINER_DIR / "mlops-desktop.icns", icns({s: pngs[s] for s in ICNS_TYPES}))):
        path.write_bytes(data)
        print(f"{path.relative_to(ROOT)}  {len(data):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
