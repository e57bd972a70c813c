"""Vietnamese text encodings found in shapefile DBFs: legacy TCVN3 and VNI decoders, detection."""

from spatial.io.encodings.codecs import ENCODINGS, decode, encode

__all__ = ["ENCODINGS", "decode", "encode"]
