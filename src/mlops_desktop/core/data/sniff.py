"""Guessing how a text file is written: encoding, delimiter and decimal mark.

Works on a sample of the file's first bytes. Every guess can be overridden by the
user; the guesses and the overrides are recorded with the dataset.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from mlops_model_support.text_files import DECIMAL_COMMA, DELIMITERS

from ..errors import DataImportError
from ..regular_files import open_regular_file

SAMPLE_BYTES = 256 * 1024
# cp1252 leaves these bytes undefined; latin-1 maps them to control characters.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_DECIMAL_POINT = re.compile(r"^\s*[-+]?\d+\.\d+\s*$")


@dataclass
class TextFormat:
    """How a text file is written: its encoding, delimiter and decimal mark."""
    encoding: str
    delimiter: str
    decimal: str


def read_sample(path: Path, size: int = SAMPLE_BYTES) -> bytes:
    """The first bytes of a file, to tell its encoding and delimiter from."""
    with open_regular_file(path, error=DataImportError) as fh:
        return fh.read(size)


def detect_encoding(sample: bytes, path: Path, *, complete: bool) -> str:
    """The first of UTF-8 (with or without BOM), UTF-16 (with BOM), cp1252 and
    latin-1 that decodes the sample into text without control characters."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    tried = []
    for enc in ("utf-8", "cp1252", "latin-1"):
        tried.append(enc)
        try:
            text = _decode(sample, enc, complete=complete)
        except UnicodeDecodeError:
            continue
        if not _CONTROL.search(text):
            return enc
    bad = _CONTROL.search(sample.decode("latin-1"))
    where = f" (byte 0x{sample[bad.start()]:02x} at offset {bad.start()})" if bad else ""
    if b"\x00" in sample:
        raise DataImportError(f"{path} looks like a binary file, not a text table{where}.")
    raise DataImportError(
        f"{path} is not text in any encoding tried ({', '.join(tried)}){where}. "
        "Save it as UTF-8 or choose its encoding.")


def _decode(sample: bytes, encoding: str, *, complete: bool) -> str:
    try:
        return sample.decode(encoding)
    except UnicodeDecodeError as exc:
        # a multi-byte character cut by the end of the sample is not an error
        if not complete and encoding == "utf-8" and exc.start >= len(sample) - 3:
            return sample[:exc.start].decode(encoding)
        raise


def check_not_binary(sample: bytes, path: Path) -> None:
    """Refuse files that are clearly not text, naming what they look like."""
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return  # UTF-16 text has NUL bytes by design
    kinds = {b"PAR1": "a Parquet file", b"SQLite format 3\x00": "an SQLite database",
             b"PK\x03\x04": "a zip archive or an Excel workbook",
             b"\xd0\xcf\x11\xe0": "an old Excel (.xls) or Office file", b"%PDF": "a PDF document",
             b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"\x1f\x8b": "a gzip archive"}
    for magic, what in kinds.items():
        if sample.startswith(magic):
            raise DataImportError(f"{path} is not a text table: it looks like {what}.")
    if b"\x00" in sample[:8192]:
        raise DataImportError(f"{path} looks like a binary file, not a text table.")


def detect_delimiter(text: str) -> str:
    """The delimiter that splits the sample's lines into the same number (>1) of
    fields most consistently; ',' when none does (a one-column file)."""
    lines = text.splitlines()[:200]
    if not text.endswith(("\n", "\r")) and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut by the sample's end
    sample = "\n".join(lines)
    best, best_score = ",", 0.0
    for delim in DELIMITERS:
        try:
            rows = list(csv.reader(io.StringIO(sample), delimiter=delim))
        except csv.Error:
            continue
        rows = [r for r in rows if r]
        if not rows:
            continue
        width = len(rows[0])
        if width < 2:
            continue
        consistent = sum(1 for r in rows if len(r) == width) / len(rows)
        score = consistent * 1000 + width
        if consistent >= 0.9 and score > best_score:
            best, best_score = delim, score
    return best


def detect_decimal(text: str, delimiter: str) -> str:
    """',' when numbers in the sample are written with a decimal comma."""
    if delimiter == ",":
        return "."
    commas = points = 0
    for row in csv.reader(io.StringIO("\n".join(text.splitlines()[1:200])), delimiter=delimiter):
        for cell in row:
            if DECIMAL_COMMA.match(cell):
                commas += 1
            elif _DECIMAL_POINT.match(cell):
                points += 1
    return "," if commas > points else "."


def sniff_text_format(path: Path, *, encoding: Optional[str] = None,
                      delimiter: Optional[str] = None,
                      decimal: Optional[str] = None) -> TextFormat:
    """Guess what the user did not specify."""
    sample = read_sample(path)
    complete = len(sample) < SAMPLE_BYTES
    if encoding is None:
        check_not_binary(sample, path)
        encoding = detect_encoding(sample, path, complete=complete)
    try:
        text = _decode(sample, encoding, complete=complete)
    except UnicodeDecodeError as exc:
        raise DataImportError(f"{path} is not valid {encoding} text (byte 0x{sample[exc.start]:02x} "
                              f"at offset {exc.start}). Choose another encoding.") from None
    except LookupError:
        raise DataImportError(f"Unknown encoding {encoding!r}.") from None
    text = text.lstrip("\ufeff")
    if delimiter is None:
        delimiter = detect_delimiter(text)
    if decimal is None:
        decimal = detect_decimal(text, delimiter)
    return TextFormat(encoding, delimiter, decimal)
