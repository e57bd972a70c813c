"""The error loaders and exporters raise for a user's input: its message says what is wrong and what to do,
and `parameter` names the option at fault (`key`, `set`, `map`, `crs`, …) when one is."""

from __future__ import annotations

from spatial.errors import SpatialInputError


class LoadError(SpatialInputError):
    """A file, an option or a feature a load or export cannot take (nothing is written when it is raised)."""
