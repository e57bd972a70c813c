"""A table-driven 8-bit codec: letters map to one or two bytes; decoding takes the longest match first.

Decoding works on the Latin-1 reading of the bytes (one code point per byte), so text that a reader
already decoded as Latin-1 (GDAL with ENCODING=ISO-8859-1) is decoded without going back to bytes.
Bytes that no letter uses are kept as their Latin-1 character, so nothing is lost silently.
"""

from __future__ import annotations

import re
import unicodedata


class TableCodec:
    def __init__(self, name: str, letters: dict[str, str], extra_decodings: dict[str, str] | None = None) -> None:
        self.name = name
        self._encode = {letter: bytes.fromhex(code) for letter, code in letters.items()}
        decode: dict[str, str] = {}
        for letter, code in letters.items():  # first wins: the lowercase letter comes first in the table
            decode.setdefault(bytes.fromhex(code).decode("latin-1"), letter)
        for code, letter in (extra_decodings or {}).items():
            decode.setdefault(bytes.fromhex(code).decode("latin-1"), letter)
        self._decode = decode
        keys = sorted(decode, key=len, reverse=True)  # longest match first
        self._pattern = re.compile("|".join(re.escape(k) for k in keys))

    def decode_latin1(self, text: str) -> str:
        """Decode text whose code points are the raw bytes (a Latin-1 reading); return NFC Unicode."""
        if text.isascii():
            return text
        return unicodedata.normalize("NFC", self._pattern.sub(lambda m: self._decode[m.group()], text))

    def decode(self, data: bytes) -> str:
        return self.decode_latin1(data.decode("latin-1"))

    def encode(self, text: str) -> bytes:
        """Unicode → bytes (the inverse, used to write test files). Raises on a letter with no code."""
        out = bytearray()
        for char in unicodedata.normalize("NFC", text):
            if ord(char) < 0x80:
                out.append(ord(char))
            elif char in self._encode:
                out += self._encode[char]
            else:
                raise UnicodeEncodeError(self.name, text, text.index(char), text.index(char) + 1,
                                         f"{char!r} has no {self.name} code")
        return bytes(out)
