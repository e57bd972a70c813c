"""The phases of a load, in the order they run, and the callback through which a caller (the CLI's progress
display, a test) hears of each one as it starts: a load never goes quiet without saying what it is doing.

    read     open the source(s): format, CRS, text encoding
    stage    stream the features into the stage (binary COPY); row counts go to the separate `progress`
    check    checks and repairs on the stage (geometry, codes, extent)
    write    the rows into the layer, or into a new copy of it built aside (a big replace)
    index    build the new copy's keys and indexes, one by one (big loads only)
    analyze  refresh the planner's statistics (row estimate: `numberMatched`, plans)
    switch   make the new copy the layer, in one short lock (big loads only)
    commit   make it all visible (or `rollback`: a dry run, or a load that loaded nothing)

`check` and `write` may come twice: when the layer's own validity CHECK finds an invalid geometry, the load
goes back to a savepoint and runs again with the full check (see `spatial.io.apply.check_and_apply`).
"""

from __future__ import annotations

from collections.abc import Callable

READ, STAGE, CHECK, WRITE, INDEX, ANALYZE, SWITCH, COMMIT, ROLLBACK = (
    "read", "stage", "check", "write", "index", "analyze", "switch", "commit", "rollback")
PHASES = (READ, STAGE, CHECK, WRITE, INDEX, ANALYZE, SWITCH, COMMIT, ROLLBACK)

OnPhase = Callable[[str, str], None]  # (phase, detail): called as the phase starts, and again as it moves on


def silent(phase: str, detail: str = "") -> None:
    """The callback of a caller that does not listen."""
