"""`lapis load` on the terminal: what the load is doing while it works (every phase, live, with one line per
finished phase and its time) and what happened when it ends (the outcome line and the exit code, documented
in the README's loading section).

Exit codes: 0 loaded; 1 refused or failed (nothing loaded, the layer unchanged; also a bad option); 2 the
database cannot be reached or went away (nothing loaded); 3 nothing to load (an empty source or every feature
rejected: rolled back, the layer unchanged); 4 with --strict, some features were rejected (the others were
loaded: see the report).
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from spatial.io.loader import LoadReport
from spatial.io.phases import STAGE

EXIT_NOTHING_LOADED = 3
EXIT_REJECTED_WITH_STRICT = 4


class LoadProgress:
    """The callbacks a load reports to (`on_phase`, `advance`, `on_total`), shown on `console`: a live line
    (spinner, phase and what it is working on, a bar while features are staged, time elapsed) on a terminal,
    and on any console one line per phase as it ends — so the screen never sits still while the load works."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 TextColumn("{task.fields[count]}"), TimeElapsedColumn(), console=console,
                                 transient=True, disable=not console.is_terminal)
        self.task = self.progress.add_task("starting", total=None, count="")
        self.total: int | None = None
        self.staged = 0
        self.phase: str | None = None
        self.detail = ""
        self.started = 0.0

    def __enter__(self) -> LoadProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._end_phase(failed=kind is not None)
        self.progress.__exit__(kind, error, traceback)

    def on_total(self, total: int | None) -> None:
        self.total = total

    def advance(self, rows: int) -> None:
        self.staged += rows
        self.progress.update(self.task, advance=rows, count=f"{self.staged:,}" + (
            f"/{self.total:,} features" if self.total is not None else " features"))

    def on_phase(self, phase: str, detail: str = "") -> None:
        if phase != self.phase:
            self._end_phase(failed=False)
            self.phase, self.detail, self.started = phase, detail, time.perf_counter()
            staging = phase == STAGE
            self.progress.reset(self.task, total=self.total if staging else None, count="")
        self.progress.update(self.task, description=f"[bold]{phase}[/] {detail}")

    def _end_phase(self, *, failed: bool) -> None:
        if self.phase is None:
            return
        seconds = time.perf_counter() - self.started
        counted = f" ({self.staged:,} features)" if self.phase == STAGE else ""
        status = "[red]failed[/]" if failed else "done"
        self.console.print(f"  {self.phase:<8} {status} in {seconds:5.1f} s  {self.detail}{counted}", highlight=False)
        self.phase = None


def exit_code(report: LoadReport, strict: bool) -> int:
    """0, or what went short: nothing loaded (3), or --strict and some features rejected (4)."""
    if report.loaded == 0:
        return EXIT_NOTHING_LOADED
    if strict and report.rejected:
        return EXIT_REJECTED_WITH_STRICT
    return 0


def outcome(report: LoadReport, strict: bool) -> str:
    """The load's last line: what is now in the layer (or would be, for a dry run), in words."""
    if report.loaded == 0:
        why = "every feature was rejected" if report.rejected else "the source has no features"
        return f"[bold red]nothing loaded[/] ({why}): rolled back, {report.layer} is unchanged"
    done = "would be loaded (dry run: rolled back)" if report.dry_run else "loaded"
    how = " (built aside and switched in: readers never waited)" if report.built_aside else ""
    line = f"[bold green]{report.loaded:,} features {done}[/] into {report.layer}{how}"
    if strict and report.rejected:
        line += f"; [bold red]{report.rejected:,} rejected with --strict[/] (listed above)"
    return line
