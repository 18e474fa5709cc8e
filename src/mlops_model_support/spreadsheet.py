"""CSV files meant for people, made safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
Excel, LibreOffice Calc and Google Sheets as a formula, which can fetch or run things
("CSV injection", OWASP). In a CSV file meant for people (the rejects file of a scoring
run, a table exported from the app, a package's example rows) such a text cell is
*neutralised*, as OWASP advises: a single quote is put in front of it, so
``=HYPERLINK("http://x")`` is written ``'=HYPERLINK("http://x")`` and shown as text.

A number is not text and is written as it is. In a typed column (numbers in a Parquet
file or an Arrow table) every value is a number. In text (a CSV cell read as text, a
value formatted for display) a cell is a number when the whole cell is one: a sign,
digits with at most one decimal mark (point or comma) and an optional exponent, so
``-3.5``, ``+2``, ``-1e-3`` and ``-1,5`` stay as they are; ``-3.5 kg``, ``-inf`` and
``=1+2`` are text.

Files for machines are not neutralised: the predictions a scoring run writes keep the
id columns and labels exactly as they came, so that they join back to the input.

Standard library only; :func:`neutralise_table` imports pyarrow when called.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

#: the first characters that make a spreadsheet read a cell as a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: a whole cell that is one number (decimal point or comma, optional exponent)
NUMBER = r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?"
_NUMBER = re.compile(NUMBER)
_FORMULA_START = "^[=+\\-@\t\r]"


def neutralise(text: str) -> str:
    """``text`` with a single quote in front when a spreadsheet would read it as a
    formula; numbers and other text as they are."""
    if text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def neutralise_cells(values: Iterable[Any]) -> list[Any]:
    """A row for ``csv.writer``: text cells neutralised, other values (numbers, None)
    as they are."""
    return [neutralise(v) if isinstance(v, str) else v for v in values]


def neutralise_table(table: Any) -> Any:
    """A ``pyarrow.Table`` with its text columns and its column names neutralised, whole
    columns at a time; number, date and true/false columns as they are."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for col in table.columns:
        if pa.types.is_dictionary(col.type) and _is_text(col.type.value_type):
            col = col.cast(col.type.value_type)
        if _is_text(col.type):
            formula = pc.and_(pc.match_substring_regex(col, _FORMULA_START),
                              pc.invert(pc.match_substring_regex(col, f"^{NUMBER}$")))
            col = pc.if_else(formula, pc.utf8_replace_slice(col, start=0, stop=0, replacement="'"), col)
        columns.append(col)
    return pa.table(columns, names=[neutralise(str(n)) for n in table.column_names])


def _is_text(t: Any) -> bool:
    import pyarrow as pa

    return pa.types.is_string(t) or pa.types.is_large_string(t)
