"""VNI-Windows: an ASCII base letter followed by a diacritic byte (or one byte for đ ơ ư and some i/y).

Case is kept (lowercase byte = capital byte + 0x20). Ỵ/ỵ are CE/EE in most sources but 59 CF/79 EF in
the VNI chart's numeric column: both decode, CE/EE are written.
"""

from __future__ import annotations

from spatial.io.encodings.table_codec import TableCodec
from spatial.io.encodings.tables import VNI

CODEC = TableCodec("vni", VNI, extra_decodings={"59CF": "Ỵ", "79EF": "ỵ"})


def decode_latin1(text: str) -> str:
    return CODEC.decode_latin1(text)


def decode(data: bytes) -> str:
    return CODEC.decode(data)


def encode(text: str) -> bytes:
    return CODEC.encode(text)
