"""Domain errors raised by `spatial` for bad input. They carry the offending parameter; the HTTP layer
turns them into problem+json (400/404/413/422) and the CLI into a message, so `spatial` knows no HTTP."""

from __future__ import annotations


class SpatialInputError(ValueError):
    """A caller's mistake. `kind` tells the caller what sort (bad value, unknown thing, bad geometry, too big)."""

    kind = "invalid"

    def __init__(self, detail: str, *, parameter: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.parameter = parameter


class InvalidParameter(SpatialInputError):
    kind = "invalid"


class NotFound(SpatialInputError):
    kind = "not_found"


class InvalidGeometry(SpatialInputError):
    kind = "invalid_geometry"


class TooLarge(SpatialInputError):
    kind = "too_large"


class UnsupportedFormat(SpatialInputError):
    kind = "unsupported_format"
