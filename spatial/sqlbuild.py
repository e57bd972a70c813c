"""A tiny helper for building SQL with numbered bind parameters ($1, $2, …) for asyncpg.

Values only ever travel as parameters; the SQL text is assembled from constants and registry names.
"""

from __future__ import annotations

from typing import Any


class Params:
    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any, cast: str | None = None) -> str:
        """Bind `value`; returns its placeholder (with an explicit cast so asyncpg knows the type)."""
        self.values.append(value)
        placeholder = f"${len(self.values)}"
        return f"{placeholder}::{cast}" if cast else placeholder
