"""The errors `spatial` raises for something its caller can fix, and the one it raises when the database is gone.

Every mistake a user can cause derives from `SpatialInputError` and carries the offending parameter. `spatial`
knows no HTTP: the web layer (`app/problems.py`) picks the status of an error by its class, walking the class's
MRO through one table, so a new error only has to derive from the right class here (or from the base: 400);
the CLI prints the message. Errors of the server itself (a bug, a full disk) derive from none of these.
"""

from __future__ import annotations


class SpatialInputError(Exception):
    """A caller's mistake: `detail` says what is wrong (and what to do), `parameter` which input is wrong."""

    def __init__(self, detail: str, *, parameter: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.parameter = parameter


class InvalidParameter(SpatialInputError):
    """A value that cannot be used: malformed, out of range, or not allowed with the others given."""


class NotFound(SpatialInputError):
    """The thing named (a layer, a feature, a tile) does not exist."""


class InvalidGeometry(SpatialInputError):
    """A geometry that is well-formed JSON but not a usable geometry (empty, self-intersecting, no coordinates)."""


class TooLarge(SpatialInputError):
    """More input than the configured limit allows."""


class UnsupportedFormat(SpatialInputError):
    """Input in a format (file type, media type) LAPIS does not read."""


class DatabaseUnavailable(Exception):
    """The database cannot be reached (refused, gone away, socket missing). Not the caller's mistake: raised by
    `spatial.pool` from the connection error, so that only the database's errors read as "unavailable"."""


class Unauthenticated(SpatialInputError):
    """The request needs a signed-in caller, or its credentials (a token) are not valid."""


class Forbidden(SpatialInputError):
    """The caller is signed in but their role may not do this."""


class Conflict(SpatialInputError):
    """The change clashes with the current state (a duplicate code, a feature another proposal holds)."""


class PreconditionRequired(SpatialInputError):
    """A write that must say which version it changes (`If-Match`) did not."""


class PreconditionFailed(SpatialInputError):
    """The version the write names (`If-Match`) is no longer the current one: someone changed it meanwhile."""
