"""Which encoding is this DBF (or CSV) text in? Honour what the file declares, else judge the bytes.

Order: a `.cpg` file, then the DBF language driver id (LDID, byte 29) when it names a code page, then
the bytes themselves: words that hold a byte ≥ 0x80 are decoded with every candidate and the candidate
under which most of them are well-formed Vietnamese syllables wins (strict UTF-8 first: 8-bit text is
practically never valid UTF-8). LDID 0x57/0x03 ("ANSI") and 0 are what most writers put whatever the
text is, so they are treated as undeclared.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from spatial.io.encodings.codecs import ENCODINGS, decode
from spatial.io.errors import LoadError

# DBF language driver ids that name a code page (ArcGIS/GDAL table, the ones seen in practice)
LDID_CODEPAGES = {
    0x01: "cp437", 0x02: "cp850", 0x08: "cp865", 0x09: "cp437", 0x0A: "cp850", 0x0B: "cp437",
    0x0D: "cp437", 0x0E: "cp850", 0x0F: "cp437", 0x10: "cp850", 0x11: "cp437", 0x12: "cp850",
    0x13: "cp932", 0x14: "cp850", 0x15: "cp437", 0x16: "cp850", 0x17: "cp865", 0x18: "cp437",
    0x19: "cp437", 0x1A: "cp850", 0x1B: "cp437", 0x1C: "cp863", 0x1D: "cp850", 0x1F: "cp852",
    0x22: "cp852", 0x23: "cp852", 0x24: "cp860", 0x25: "cp850", 0x26: "cp866", 0x37: "cp850",
    0x40: "cp852", 0x4D: "cp936", 0x4E: "cp949", 0x4F: "cp950", 0x50: "cp874", 0x58: "cp1252",
    0x59: "cp1252", 0x64: "cp852", 0x65: "cp866", 0x66: "cp865", 0x67: "cp861", 0x6A: "cp737",
    0x6B: "cp857", 0x78: "cp950", 0x79: "cp949", 0x7A: "cp936", 0x7B: "cp932", 0x7C: "cp874",
    0x7D: "cp1255", 0x7E: "cp1256", 0x87: "cp852", 0x88: "cp857", 0xC8: "cp1250", 0xC9: "cp1251",
    0xCA: "cp1254", 0xCB: "cp1253", 0xCC: "cp1257",
}
UNDECLARED_LDIDS = {0x00, 0x03, 0x57}
CPG_NAMES = {
    "utf-8": "utf-8", "utf8": "utf-8", "65001": "utf-8", "1258": "cp1258", "cp1258": "cp1258",
    "windows-1258": "cp1258", "ansi 1258": "cp1258", "iso-8859-1": "latin-1", "iso8859-1": "latin-1",
    "latin1": "latin-1", "latin-1": "latin-1", "88591": "latin-1", "8859_1": "latin-1", "1252": "cp1252",
    "cp1252": "cp1252", "windows-1252": "cp1252", "ansi 1252": "cp1252", "tcvn3": "tcvn3", "tcvn": "tcvn3",
    "tcvn5712": "tcvn3", "vni": "vni", "vni-windows": "vni",
}

_ONSET = "(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnpqrstvx])?"
# Vietnamese vowel nuclei (tones removed) that may take a final consonant, and those that end in a glide
_OPEN = "iê|yê|uyê|uô|ươ|oa|oă|oe|uâ|uê|uy|oo|ưa|ua|ia|[aăâeêioôơuưy]"
_CLOSED = "oai|oay|oao|oeo|uây|uôi|ươi|ươu|iêu|yêu|uyu|uya|ai|ao|au|ay|âu|ây|eo|êu|iu|oi|ôi|ơi|ui|ưi|ưu"
SYLLABLE = re.compile(f"^{_ONSET}(?:(?:{_OPEN})(?:ch|ng|nh|[cmnpt])?|(?:{_CLOSED}))$")
TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
_HIGH_WORD = re.compile(rb"[A-Za-z\x80-\xff]*[\x80-\xff][A-Za-z\x80-\xff]*")


def is_vietnamese_syllable(word: str) -> bool:
    decomposed = unicodedata.normalize("NFD", word.lower())
    if sum(c in TONES for c in decomposed) > 1:
        return False
    bare = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in TONES))
    return bool(SYLLABLE.match(bare))


@dataclass
class Detection:
    encoding: str
    reason: str
    scores: dict[str, float] = field(default_factory=dict)
    declared: str | None = None  # what the .cpg/LDID said, if anything

    def as_dict(self) -> dict[str, object]:
        return {"encoding": self.encoding, "reason": self.reason, "scores": self.scores, "declared": self.declared}


def score(words: Counter[bytes], encoding: str) -> float | None:
    """Share of non-ASCII words (weighted by count) that decode to a Vietnamese syllable; None = undecodable."""
    good = total = 0
    for raw, count in words.items():
        try:
            text = raw.decode("utf-8") if encoding == "utf-8" else decode(raw, encoding)
        except UnicodeDecodeError:
            if encoding == "utf-8":
                return None
            continue
        total += count
        good += count * is_vietnamese_syllable(text)
    return good / total if total else 0.0


def detect_from_words(words: Counter[bytes]) -> Detection:
    if not words:
        return Detection("utf-8", "all text is ASCII (any encoding reads it the same)")
    n = sum(words.values())
    utf8_ok = sum(c for w, c in words.items() if _is_utf8(w))
    if utf8_ok >= 0.95 * n:
        return Detection("utf-8", f"{utf8_ok} of {n} non-ASCII words are valid UTF-8", {"utf-8": utf8_ok / n})
    scores = {enc: s for enc in ENCODINGS[1:-1] if (s := score(words, enc)) is not None}
    best = max(scores, key=lambda e: scores[e])
    rounded = {k: round(v, 3) for k, v in scores.items()}
    if scores[best] < 0.5:
        return Detection("latin-1", f"not UTF-8 and no Vietnamese encoding fits (best {best} {scores[best]:.0%} "
                         f"of {n} words): read as Latin-1", rounded)
    return Detection(best, f"not UTF-8; {scores[best]:.0%} of {n} non-ASCII words are Vietnamese syllables "
                     f"in {best}", rounded)


def _is_utf8(word: bytes) -> bool:
    try:
        word.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def high_byte_words(chunks: Iterable[bytes], per_chunk: int = 400) -> Counter[bytes]:
    """Words holding a byte ≥ 0x80, at most `per_chunk` from each chunk (a bounded sample of every part)."""
    words: Counter[bytes] = Counter()
    for chunk in chunks:
        array = np.frombuffer(chunk, dtype=np.uint8)
        high = np.flatnonzero(array >= 0x80)
        if high.size == 0:
            continue
        step = max(1, high.size // per_chunk)
        last_end = -1
        for pos in high[::step][:per_chunk].tolist():
            if pos < last_end:
                continue
            start = max(0, pos - 40)
            match = next((m for m in _HIGH_WORD.finditer(chunk, start, min(len(chunk), pos + 40))
                          if m.start() <= pos < m.end()), None)
            if match:
                words[match.group()] += 1
                last_end = match.end()
    return words


@dataclass
class DbfHeader:
    records: int
    header_length: int
    record_length: int
    ldid: int


def read_dbf_header(path: Path) -> DbfHeader:
    with path.open("rb") as f:
        head = f.read(32)
    if len(head) < 32:
        raise LoadError(f"{path.name} is not a DBF file (too short)")
    return DbfHeader(int.from_bytes(head[4:8], "little"), int.from_bytes(head[8:10], "little"),
                     int.from_bytes(head[10:12], "little"), head[29])


def dbf_chunks(path: Path, header: DbfHeader, chunk_size: int = 8 << 20) -> Iterable[bytes]:
    with path.open("rb") as f:
        f.seek(header.header_length)
        while chunk := f.read(chunk_size):
            yield chunk


def read_cpg(path: Path) -> str | None:
    for cpg in (path.with_suffix(".cpg"), path.with_suffix(".CPG")):
        if cpg.exists():
            return cpg.read_text(encoding="ascii", errors="replace").strip()
    return None


def detect_shapefile_encoding(shp: Path, requested: str = "auto") -> Detection:
    """The encoding of a shapefile's DBF: the requested one, else .cpg, LDID or the bytes."""
    dbf = next((p for p in (shp.with_suffix(".dbf"), shp.with_suffix(".DBF")) if p.exists()), None)
    if requested != "auto":
        return Detection(requested, "given with --encoding")
    if dbf is None:
        return Detection("utf-8", "no .dbf file")
    cpg = read_cpg(shp)
    if cpg is not None:
        name = CPG_NAMES.get(cpg.lower())
        if name:
            return Detection(name, f".cpg says {cpg!r}", declared=cpg)
    header = read_dbf_header(dbf)
    if header.ldid not in UNDECLARED_LDIDS and header.ldid in LDID_CODEPAGES:
        codepage = LDID_CODEPAGES[header.ldid]
        return Detection(codepage, f"DBF language driver byte 0x{header.ldid:02X} = {codepage}",
                         declared=f"LDID 0x{header.ldid:02X}")
    detection = detect_from_words(high_byte_words(dbf_chunks(dbf, header)))
    why = f"no usable .cpg ({cpg!r})" if cpg is not None else "no .cpg"
    detection.reason = f"{why}, LDID 0x{header.ldid:02X}: {detection.reason}"
    return detection

