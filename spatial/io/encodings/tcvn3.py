"""TCVN3 (ABC, TCVN 5712:1993 VN3): one byte a letter, ASCII unchanged.

Only Ă Â Ê Ô Ơ Ư Đ have capital codes of their own; a capital with a tone was typed with the
lowercase byte and drawn capital by an all-capitals font (.VnTimeH). `decode` restores such a capital
when the rest of its word is in capitals ("ĐứC HUệ" → "ĐỨC HUỆ"), the only case that can be recovered.
"""

from __future__ import annotations

import re

from spatial.io.encodings.table_codec import TableCodec
from spatial.io.encodings.tables import TCVN3

CODEC = TableCodec("tcvn3", TCVN3)
_WORD = re.compile(r"\w+")


def _restore_capitals(match: re.Match[str]) -> str:
    word = match.group()
    cased = [c for c in word if c.isalpha() and c.lower() != c.upper()]
    lower = [c for c in cased if c.islower() and c.upper() in TCVN3 and TCVN3[c.upper()] == TCVN3[c]]
    upper = [c for c in cased if c.isupper()]
    # every lowercase letter left is one whose capital shares its byte, and capitals are the rest
    if lower and len(upper) >= 1 and len(lower) + len(upper) == len(cased) and len(cased) >= 2:
        return word.upper()
    return word


def decode_latin1(text: str) -> str:
    decoded = CODEC.decode_latin1(text)
    return decoded if decoded.isascii() else _WORD.sub(_restore_capitals, decoded)


def decode(data: bytes) -> str:
    return decode_latin1(data.decode("latin-1"))


def encode(text: str) -> bytes:
    return CODEC.encode(text)
