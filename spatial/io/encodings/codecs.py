"""One entry point for the encodings a loader accepts: decode a Latin-1 reading of raw bytes to NFC."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from spatial.io.encodings import tcvn3, vni

ENCODINGS = ("utf-8", "cp1258", "tcvn3", "vni", "latin-1")


def _reencode(codec: str) -> Callable[[str], str]:
    def decode_latin1(text: str) -> str:
        if text.isascii():
            return text
        return unicodedata.normalize("NFC", text.encode("latin-1").decode(codec, errors="replace"))
    return decode_latin1


_FROM_LATIN1: dict[str, Callable[[str], str]] = {
    "utf-8": _reencode("utf-8"),
    "cp1258": _reencode("cp1258"),
    "tcvn3": tcvn3.decode_latin1,
    "vni": vni.decode_latin1,
    "latin-1": lambda text: unicodedata.normalize("NFC", text),
}


def from_latin1(encoding: str) -> Callable[[str], str]:
    """A function turning a Latin-1 reading of bytes in `encoding` into NFC Unicode."""
    return _FROM_LATIN1[encoding]


def decode(data: bytes, encoding: str) -> str:
    return _FROM_LATIN1[encoding](data.decode("latin-1"))


def encode_cp1258(text: str) -> bytes:
    """Unicode → Windows-1258 the way Windows writes Vietnamese: a precomposed letter where the code page
    has one, else the base letter (with its circumflex, breve or horn) and a combining tone mark."""
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        decomposed = unicodedata.normalize("NFD", char)
        base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONES))
        tones = "".join(c for c in decomposed if c in _TONES)
        out += base.encode("cp1258") + tones.encode("cp1258")
    return bytes(out)


_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def encode(text: str, encoding: str) -> bytes:
    """The inverse of `decode` (used to write test files in every encoding)."""
    if encoding == "tcvn3":
        return tcvn3.encode(text)
    if encoding == "vni":
        return vni.encode(text)
    if encoding == "cp1258":
        return encode_cp1258(text)
    return text.encode(encoding)
