"""TCVN3 and VNI decoders (table-driven), cp1258, and encoding detection from raw bytes."""

from __future__ import annotations

import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from spatial.io.encodings import codecs, tcvn3, vni
from spatial.io.encodings.detect import detect_from_words, high_byte_words, is_vietnamese_syllable, read_dbf_header
from spatial.io.errors import LoadError
from tests.spatial.io.files import DISTRICTS


@pytest.mark.parametrize("encoding", ["tcvn3", "vni", "cp1258"])
def test_district_names_round_trip(encoding: str) -> None:
    for name in DISTRICTS:
        raw = codecs.encode(name, encoding)
        assert not raw.isascii()
        decoded = codecs.decode(raw, encoding)
        assert decoded == name and unicodedata.is_normalized("NFC", decoded)


def test_tcvn3_known_bytes() -> None:
    # from the brief's detection hints: "Bến Lức" is "BÕn Løc" read as Latin-1, "Đức Huệ" is "§øc HuÖ"
    assert tcvn3.decode("BÕn Løc".encode("latin-1")) == "Bến Lức"
    assert tcvn3.decode("§øc HuÖ".encode("latin-1")) == "Đức Huệ"
    assert tcvn3.encode("Tân") == b"T\xa9n"


def test_tcvn3_restores_capitals_in_all_capital_words() -> None:
    assert tcvn3.decode(tcvn3.encode("ĐỨC HUỆ")) == "ĐỨC HUỆ"
    assert tcvn3.decode(tcvn3.encode("Đức Huệ")) == "Đức Huệ"


def test_vni_known_bytes_and_alternative_y_dot() -> None:
    assert vni.decode("Beán Löùc".encode("latin-1")) == "Bến Lức"
    assert vni.decode("Ñöùc".encode("latin-1")) == "Đức"
    assert vni.decode(b"\x59\xcf \x79\xef") == "Ỵ ỵ" == vni.decode(b"\xce \xee")
    assert vni.encode("ỵ") == b"\xee"


def test_unknown_bytes_are_kept_not_dropped() -> None:
    assert tcvn3.decode(b"a\xffb") == "a\xffb"


@pytest.mark.parametrize("encoding", ["utf-8", "cp1258", "tcvn3", "vni"])
def test_detection_from_bytes(encoding: str) -> None:
    data = b"  ".join(codecs.encode(n, encoding) for n in DISTRICTS)
    detection = detect_from_words(high_byte_words([data]))
    assert detection.encoding == encoding, detection
    assert detection.reason


def test_latin1_when_no_vietnamese_fits() -> None:
    detection = detect_from_words(high_byte_words([b"M\xfcller Caf\xe9 Stra\xdfe G\xf6teborg"]))
    assert detection.encoding == "latin-1"


def test_ascii_only() -> None:
    assert detect_from_words(Counter()).encoding == "utf-8"


def test_syllables() -> None:
    assert all(is_vietnamese_syllable(w) for w in ("Huyện", "Đước", "Giuộc", "Thạnh", "nghiêng", "khuya"))
    assert not any(is_vietnamese_syllable(w) for w in ("Beỏn", "Müller", "B©n", "xyzz"))


def test_a_file_too_short_for_a_dbf_header_is_a_load_error(tmp_path: Path) -> None:
    dbf = tmp_path / "short.dbf"
    dbf.write_bytes(bytes([3, 125, 1, 1, 2, 0, 0, 0]))
    with pytest.raises(LoadError, match="short.dbf is not a DBF file"):
        read_dbf_header(dbf)
    dbf.write_bytes(bytes(32))  # a header's worth of bytes is read
    assert read_dbf_header(dbf).records == 0
