"""Encoding detection at its edges: syllables, the UTF-8 share, the Latin-1 fall-back, the bytes sampled,
and what a shapefile declares (.cpg, DBF language driver byte). No database."""

from __future__ import annotations

import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from spatial.io.encodings.codecs import encode
from spatial.io.encodings.detect import (
    Detection,
    detect_from_words,
    detect_shapefile_encoding,
    high_byte_words,
    is_vietnamese_syllable,
    read_cpg,
    read_dbf_header,
    score,
)
from spatial.io.errors import LoadError

TAN_TCVN3 = encode("Tân", "tcvn3")  # b"T\xa9n"
NOT_VIETNAMESE = "Müller".encode("latin-1")


# -- syllables -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("word", ["hoa", "hoà", "HUYỆN", "Đức", "nghiêng", "khuya", "Giuộc", "người", "ư"])
def test_syllables_with_at_most_one_tone(word: str) -> None:
    assert is_vietnamese_syllable(word)
    assert is_vietnamese_syllable(unicodedata.normalize("NFD", word))


@pytest.mark.parametrize("word", [
    "ho\u0300a\u0301",  # grave and acute on one syllable
    "hoa\u0301\u0301",  # the same tone twice
    "ngu\u0303o\u031b\u0300i",  # tilde and grave
])
def test_a_syllable_with_two_tone_marks_is_not_vietnamese(word: str) -> None:
    assert not is_vietnamese_syllable(word)
    assert not is_vietnamese_syllable(unicodedata.normalize("NFC", word))


@pytest.mark.parametrize("word", ["Müller", "B©n", "xyzz", "hoan", "strasse", "", "Beỏn"])
def test_words_that_are_not_syllables(word: str) -> None:
    assert is_vietnamese_syllable(word) is (word == "hoan")


# -- scoring and the verdict -----------------------------------------------------------------------------------
def test_score_is_the_share_of_words_weighted_by_count() -> None:
    words = Counter({TAN_TCVN3: 3, NOT_VIETNAMESE: 1})
    assert score(words, "tcvn3") == 0.75
    assert score(words, "vni") == 0.0
    assert score(Counter(), "tcvn3") == 0.0


def test_score_in_utf8_is_none_for_bytes_that_are_not_utf8() -> None:
    assert score(Counter({"Tân".encode(): 2, "Zürich".encode(): 1}), "utf-8") == pytest.approx(2 / 3)
    assert score(Counter({"Tân".encode(): 5, TAN_TCVN3: 1}), "utf-8") is None


def test_ascii_text_is_utf8() -> None:
    detection = detect_from_words(Counter())
    assert detection == Detection("utf-8", "all text is ASCII (any encoding reads it the same)")


def test_mixed_utf8_and_legacy_words_are_utf8_from_95_percent() -> None:
    utf8 = Counter({"Tân".encode(): 10, "Đức".encode(): 9})
    at = detect_from_words(utf8 + Counter({TAN_TCVN3: 1}))
    assert at.encoding == "utf-8" and at.scores == {"utf-8": 0.95}
    assert at.reason == "19 of 20 non-ASCII words are valid UTF-8"
    below = detect_from_words(Counter({"Tân".encode(): 9, "Đức".encode(): 9}) + Counter({TAN_TCVN3: 2}))
    assert below.encoding != "utf-8"


def test_mostly_legacy_words_with_some_utf8_are_the_legacy_encoding() -> None:
    words = Counter({encode(w, "tcvn3"): 3 for w in ("Tân", "Đức", "Huệ", "Bến", "Lức")})
    words["Tân".encode()] = 1
    detection = detect_from_words(words)
    assert detection.encoding == "tcvn3"
    assert detection.reason == "not UTF-8; 94% of 16 non-ASCII words are Vietnamese syllables in tcvn3"


def test_latin1_fallback_starts_below_half_the_words() -> None:
    half = detect_from_words(Counter({TAN_TCVN3: 1, NOT_VIETNAMESE: 1}))
    assert half.encoding == "tcvn3" and half.scores == {"cp1258": 0.0, "tcvn3": 0.5, "vni": 0.0}
    third = detect_from_words(Counter({TAN_TCVN3: 1, NOT_VIETNAMESE: 2}))
    assert third.encoding == "latin-1"
    assert third.scores == {"cp1258": 0.0, "tcvn3": 0.333, "vni": 0.0}
    assert third.reason == ("not UTF-8 and no Vietnamese encoding fits (best tcvn3 33% of 3 words): "
                            "read as Latin-1")


@pytest.mark.parametrize("encoding", ["cp1258", "tcvn3", "vni"])
def test_the_best_scoring_encoding_wins(encoding: str) -> None:
    words = Counter({encode(w, encoding): 1 for w in ("Tân", "Đức", "Huệ", "Bến", "Lức", "Thạnh")})
    detection = detect_from_words(words)
    assert detection.encoding == encoding
    assert detection.scores[encoding] == 1.0
    assert max(detection.scores.values()) == 1.0 and set(detection.scores) == {"cp1258", "tcvn3", "vni"}


def test_detection_as_dict() -> None:
    detection = Detection("vni", "why", {"vni": 1.0}, declared="LDID 0x57")
    assert detection.as_dict() == {"encoding": "vni", "reason": "why", "scores": {"vni": 1.0},
                                   "declared": "LDID 0x57"}


# -- which bytes are sampled -----------------------------------------------------------------------------------
def test_byte_0x80_is_high_and_0x7f_is_not() -> None:
    assert high_byte_words([b"abc \x80x def \x7fz"]) == Counter({b"\x80x": 1})
    assert high_byte_words([b"plain ASCII \x7f text"]) == Counter()


def test_words_are_whole_words_and_counted_once() -> None:
    chunk = b"\xa8n \xa7\xf8c Hu\xd6, \xa7\xf8c B\xd5n L\xf8c T\xa9n\xa9 \xa8n"  # §øc HuÖ, §øc BÕn Løc (TCVN3)
    assert high_byte_words([chunk]) == Counter({b"\xa7\xf8c": 2, b"Hu\xd6": 1, b"B\xd5n": 1, b"L\xf8c": 1,
                                                b"T\xa9n\xa9": 1, b"\xa8n": 2})


def test_every_chunk_is_sampled_even_after_an_ascii_one() -> None:
    assert high_byte_words([b"ascii", b"", b"T\xa9n", b"more ascii", b"T\xa9n"]) == Counter({b"T\xa9n": 2})


def letters(i: int) -> bytes:
    """1000 distinct words of letters: aa, ab, … (digits are not part of a word)."""
    return bytes([97 + i // 26 // 26, 97 + i // 26 % 26, 97 + i % 26])


def test_at_most_per_chunk_words_are_taken_from_each_chunk() -> None:
    chunk = b" ".join(letters(i) + b"\xe9" for i in range(1000))
    words = high_byte_words([chunk, chunk], per_chunk=400)
    assert sum(words.values()) == 800 and set(words.values()) == {2}
    # spread over the chunk, not its first 400 words: every other word of the first 800
    assert letters(798) + b"\xe9" in words and letters(799) + b"\xe9" not in words
    assert letters(0) + b"\xe9" in words and letters(1) + b"\xe9" not in words
    assert sum(high_byte_words([chunk[:2000]]).values()) == 400  # all 400 words; 400 is the default
    assert sum(high_byte_words([chunk[:3000]]).values()) == 400  # the first 400 of 600 words
    assert sum(high_byte_words([chunk[:1000]], per_chunk=400).values()) == 200


def test_a_long_run_of_letters_is_cut_40_bytes_either_side_of_its_high_byte() -> None:
    word = b"a" * 50 + b"\xe9" + b"b" * 50
    assert high_byte_words([word]) == Counter({b"a" * 40 + b"\xe9" + b"b" * 39: 1})


# -- what a shapefile declares ---------------------------------------------------------------------------------
def dbf(path: Path, body: bytes, ldid: int = 0, header_extra: bytes = b"", records: int = 2,
        record_length: int = 21) -> Path:
    """A DBF file: the 32-byte header (records, header length, record length, LDID), `header_extra`
    (field descriptors), then `body` as the records."""
    header_length = 32 + len(header_extra)
    head = bytearray(b"\xff" * 32)  # the bytes a reader must not read as a field: 1–3, 12–28, 30–31
    head[0] = 3
    head[4:8] = records.to_bytes(4, "little")
    head[8:10] = header_length.to_bytes(2, "little")
    head[10:12] = record_length.to_bytes(2, "little")
    head[29] = ldid
    path.write_bytes(bytes(head) + header_extra + body)
    return path


TCVN3_BODY = b" " + b" ".join(encode(w, "tcvn3") for w in ("Tân", "Đức", "Huệ", "Bến", "Lức", "Thạnh"))


def test_a_header_alone_is_a_dbf(tmp_path: Path) -> None:
    path = dbf(tmp_path / "a.dbf", b"", ldid=0x57, records=0)
    assert path.stat().st_size == 32
    assert read_dbf_header(path).header_length == 32
    assert detect_shapefile_encoding(tmp_path / "a.shp").encoding == "utf-8"


def test_each_8_mib_of_a_big_dbf_is_sampled_on_its_own(tmp_path: Path) -> None:
    # 600 TCVN3 words in the first 8 MiB and 600 in the next: 400 are taken from each part
    part = b" ".join([b"T\xa9n"] * 600)
    body = part + b" " * ((8 << 20) - len(part)) + part
    dbf(tmp_path / "a.dbf", body, ldid=0x57)
    detection = detect_shapefile_encoding(tmp_path / "a.shp")
    assert detection.encoding == "tcvn3" and "of 800 non-ASCII words" in detection.reason


def test_dbf_header_fields(tmp_path: Path) -> None:
    path = dbf(tmp_path / "a.dbf", b"", ldid=0xC8, header_extra=b"\0" * 33, records=70_000, record_length=300)
    header = read_dbf_header(path)
    assert (header.records, header.header_length, header.record_length, header.ldid) == (70_000, 65, 300, 0xC8)
    (tmp_path / "short.dbf").write_bytes(b"\x03" * 31)
    with pytest.raises(LoadError, match="short.dbf is not a DBF file"):
        read_dbf_header(tmp_path / "short.dbf")


def test_cpg_is_read_stripped_in_either_case(tmp_path: Path) -> None:
    assert read_cpg(tmp_path / "a.shp") is None
    (tmp_path / "a.CPG").write_text(" UTF-8\r\n")
    assert read_cpg(tmp_path / "a.shp") == "UTF-8"
    (tmp_path / "b.cpg").write_text("1258\n")
    assert read_cpg(tmp_path / "b.shp") == "1258"


def test_requested_encoding_wins_over_everything(tmp_path: Path) -> None:
    dbf(tmp_path / "a.dbf", TCVN3_BODY, ldid=0xC8)
    (tmp_path / "a.cpg").write_text("UTF-8")
    assert detect_shapefile_encoding(tmp_path / "a.shp", "vni") == Detection("vni", "given with --encoding")


def test_no_dbf_means_utf8(tmp_path: Path) -> None:
    assert detect_shapefile_encoding(tmp_path / "a.shp") == Detection("utf-8", "no .dbf file")


@pytest.mark.parametrize(("cpg", "encoding"), [
    ("UTF-8", "utf-8"), ("65001", "utf-8"), ("ANSI 1258", "cp1258"), ("windows-1258", "cp1258"),
    ("TCVN3", "tcvn3"), ("VNI-Windows", "vni"), ("ISO-8859-1", "latin-1"), ("1252", "cp1252"),
])
def test_a_known_cpg_is_honoured_whatever_the_bytes(tmp_path: Path, cpg: str, encoding: str) -> None:
    dbf(tmp_path / "a.DBF", TCVN3_BODY, ldid=0xC8)
    (tmp_path / "a.cpg").write_text(cpg + "\n")
    detection = detect_shapefile_encoding(tmp_path / "a.shp")
    assert detection == Detection(encoding, f".cpg says {cpg!r}", declared=cpg)


def test_a_code_page_ldid_is_honoured(tmp_path: Path) -> None:
    dbf(tmp_path / "a.dbf", TCVN3_BODY, ldid=0xC8)
    detection = detect_shapefile_encoding(tmp_path / "a.shp")
    assert detection == Detection("cp1250", "DBF language driver byte 0xC8 = cp1250", declared="LDID 0xC8")
    dbf(tmp_path / "b.dbf", TCVN3_BODY, ldid=0x01)
    assert detect_shapefile_encoding(tmp_path / "b.shp").encoding == "cp437"


@pytest.mark.parametrize("ldid", [0x00, 0x03, 0x57, 0x7F])
def test_ansi_unknown_or_no_ldid_means_judge_the_bytes(tmp_path: Path, ldid: int) -> None:
    dbf(tmp_path / "a.dbf", TCVN3_BODY, ldid=ldid)
    detection = detect_shapefile_encoding(tmp_path / "a.shp")
    assert detection.encoding == "tcvn3" and detection.declared is None
    assert detection.reason == (f"no .cpg, LDID 0x{ldid:02X}: not UTF-8; 100% of 6 non-ASCII words are "
                                "Vietnamese syllables in tcvn3")


def test_an_unknown_cpg_falls_back_to_the_bytes_and_says_so(tmp_path: Path) -> None:
    dbf(tmp_path / "a.dbf", TCVN3_BODY, ldid=0x57)
    (tmp_path / "a.cpg").write_text("OEM")
    detection = detect_shapefile_encoding(tmp_path / "a.shp")
    assert detection.encoding == "tcvn3"
    assert detection.reason.startswith("no usable .cpg ('OEM'), LDID 0x57: not UTF-8;")
    (tmp_path / "a.cpg").write_bytes(b"UTF-8\xa0")  # not even ASCII
    assert detect_shapefile_encoding(tmp_path / "a.shp").reason.startswith("no usable .cpg ('UTF-8\ufffd')")
    (tmp_path / "a.cpg").write_bytes("UTF-8\u00a0".encode())  # a no-break space in UTF-8 is not ASCII either
    assert detect_shapefile_encoding(tmp_path / "a.shp").reason.startswith("no usable .cpg ('UTF-8\ufffd\ufffd')")


def test_only_the_records_are_judged_not_the_header(tmp_path: Path) -> None:
    # field descriptors holding high bytes (a field name in VNI) must not count as text
    names = ("Tân", "Đức", "Huệ", "Bến", "Lức", "Mộc", "Hóa")
    header_extra = b"".join(encode(w, "vni").ljust(32, b"\0") for w in names)
    dbf(tmp_path / "a.dbf", TCVN3_BODY, ldid=0x57, header_extra=header_extra + b"\r")
    detection = detect_shapefile_encoding(tmp_path / "a.shp")
    assert detection.encoding == "tcvn3", detection
    assert "of 6 non-ASCII words" in detection.reason
