"""Who a name names: the one rule for deciding that two typed names are one person.

The four-eyes rule (an approver is not the person who trained the version) compares
names, and a name can be typed so that it looks like another while its characters
differ: ``alice`` with a zero-width space after it, with a Cyrillic ``а``, in
full-width letters (``ａｌｉｃｅ``), with a capital ``I`` for the ``l``. Here a name
becomes an identity key, and two names are one person when their keys meet:

1. invisible and format characters are removed (Unicode Default_Ignorable_Code_Point,
   general categories Cf and Cc, and the blank Braille pattern, which shows nothing);
2. NFKC and case folding (full-width and mathematical letters, ligatures and case
   stop mattering), then runs of spaces become one;
3. the UTS #39 skeleton (Unicode Technical Standard #39, section 4): each character is
   replaced by the prototype of the characters that look like it, from Unicode's
   ``confusables.txt`` (shipped beside this module: version 17.0.0, dated 2025-07-22,
   6565 mappings; SHA-256 ``ec88ecebcf89f63f813d460842b0cf8322744b40a0b2c06f88a2cea48c0351ea``);
4. accents (the generic combining diacritical marks) are dropped: ``José`` and ``Jose``
   are one person. A name with or without its accent is how the same person types it
   on two keyboards, and an accent added to one's own name must not make a second
   pair of eyes. Marks that are letters' vowel signs in other scripts are kept.

Step 3 is case-sensitive in the standard (``I`` looks like ``l``, ``i`` does not), and
folding case first loses that; so a key holds two forms, the skeleton of the folded
name and the folded skeleton of the name as typed, and two names are one person when
either form agrees. ``ana`` and ``anna``, ``bob`` and ``rob`` stay two people.

Names are not authentication: the rule holds people to honesty, and the name as typed
is what is recorded and shown.
"""

from __future__ import annotations

import importlib.resources
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from .errors import InvalidChoiceError

CONFUSABLES_FILE = "confusables.txt"

#: Default_Ignorable_Code_Point (DerivedCoreProperties.txt) outside categories Cf and Cc,
#: which are removed whole: the combining grapheme joiner, Hangul fillers, Khmer inherent
#: vowels, variation selectors, and unassigned code points reserved as ignorable
_IGNORABLE_RANGES = ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F),
                     (0x2065, 0x2065), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0),
                     (0xFFF0, 0xFFF8), (0xE0000, 0xE0FFF),
                     (0x2800, 0x2800))  # BRAILLE PATTERN BLANK: not ignorable by Unicode, but blank
#: the generic combining diacritical marks (accents), blocks used with Latin, Greek and Cyrillic
_DIACRITIC_RANGES = ((0x0300, 0x036F), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x20D0, 0x20FF),
                     (0xFE20, 0xFE2F))


@dataclass(frozen=True)
class IdentityKey:
    """What a name is compared by (see the module's description)."""

    #: the skeleton of the case-folded name
    folded: str
    #: the case-folded skeleton of the name as typed (keeps ``I`` looking like ``l``)
    shaped: str

    def same_as(self, other: "IdentityKey") -> bool:
        """Whether the two names are one person: either form of their keys agrees."""
        return self.folded == other.folded or self.shaped == other.shaped

    @property
    def empty(self) -> bool:
        """True for a name with nothing visible in it."""
        return not self.folded


def identity_key(name: str) -> IdentityKey:
    """The key a person's name is compared by."""
    visible = _visible(str(name))
    folded = _tidy(unicodedata.normalize("NFKC", visible.casefold()))
    shaped = _tidy(_skeleton(unicodedata.normalize("NFKC", visible)).casefold())
    return IdentityKey(folded=_plain(_skeleton(folded)), shaped=_plain(shaped))


def same_person(a: str, b: str) -> bool:
    """Whether two recorded names are one person: case, spacing, invisible characters,
    accents and look-alike letters do not make a second pair of eyes."""
    return identity_key(a).same_as(identity_key(b))


def check_person_name(name: str, *, asking: str = "Give a person's name") -> str:
    """The name with its spacing tidied, if it has something visible in it; else
    InvalidChoiceError starting with ``asking`` (a name nobody can read cannot be held
    to anything)."""
    text = " ".join(str(name or "").split())
    if identity_key(text).empty:
        unreadable = f"; {text!r} has nothing visible in it" if text else ""
        raise InvalidChoiceError(f"{asking} (it is recorded with the change){unreadable}.")
    return text


# -- the steps -------------------------------------------------------------------------

def _visible(text: str) -> str:
    """NFKC, then without invisible and format characters."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if not _invisible(ch))


def _invisible(ch: str) -> bool:
    if unicodedata.category(ch) in ("Cf", "Cc") and not ch.isspace():
        return True
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in _IGNORABLE_RANGES)


def _tidy(text: str) -> str:
    return " ".join(text.split())


def _skeleton(text: str) -> str:
    """UTS #39 skeleton: NFD, each character replaced by its prototype, NFD again."""
    table = _prototypes()
    mapped = "".join(table.get(ch, ch) for ch in unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFD", mapped)


def _plain(text: str) -> str:
    """Without accents (generic combining diacritical marks), composed again."""
    kept = "".join(ch for ch in text if not any(lo <= ord(ch) <= hi for lo, hi in _DIACRITIC_RANGES))
    return unicodedata.normalize("NFC", kept)


@lru_cache(maxsize=1)
def _prototypes() -> dict[str, str]:
    """confusables.txt as {character: prototype}. Lines read ``SOURCE ; TARGET ; MA # ...``
    with code points in hexadecimal (the target may be several)."""
    text = importlib.resources.files(__package__).joinpath(CONFUSABLES_FILE).read_text("utf-8-sig")
    table: dict[str, str] = {}
    for line in text.splitlines():
        data = line.split("#", 1)[0].strip()
        if not data:
            continue
        source, target, _kind = (field.strip() for field in data.split(";"))
        table[chr(int(source, 16))] = "".join(chr(int(cp, 16)) for cp in target.split())
    return table
