"""How a text (CSV) file is read: the rules the app's importer and an exported package's
scoring share, so that a file the app imported is read the same way by ``score.py``.

Standard library only.
"""

from __future__ import annotations

import re

#: the delimiters the importer recognises (a header split with the wrong one is checked
#: against them)
DELIMITERS = (",", ";", "\t", "|")
#: a number written with a decimal comma, e.g. "1,5" or "-1.234,5"
DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d{1,3}(\.?\d{3})*,\d+\s*$")


def column_names(raw: list[str]) -> list[str]:
    """Header names as the importer makes them: spaces around a name removed, an empty
    name called ``column_N`` (N counted from 1)."""
    return [n.strip() if n.strip() else f"column_{i + 1}" for i, n in enumerate(raw)]
