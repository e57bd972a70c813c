"""Messages for the people who sent the input, without what is private to the server.

A loader's message is written for the operator who runs `lapis load` on their own files: it names the file by its
path and repeats the driver's own words (GDAL's, SQLite's — sometimes with the SQL it ran). Sent back to an API
client it would disclose the server's folders and internals. `public_message` keeps the sentence and drops those:
given paths become a name the client knows, other absolute paths under the server's private roots become `…`, and
a parenthesised driver message (a path, SQL or driver vocabulary inside) becomes "(details in the server log)".
The full message is logged by the caller.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

LOGGED = "(details in the server log)"
PRIVATE_ROOTS = tuple(sorted({tempfile.gettempdir(), "/tmp", "/var", "/home", "/root", "/usr", "/opt", "/srv",  # noqa: S108
                              "/proc", "/etc", "/work", sys.prefix, str(Path(__file__).resolve().parents[1])},
                             key=len, reverse=True))
_PATH = re.compile(r"(?:" + "|".join(re.escape(root) for root in PRIVATE_ROOTS)
                   + r")(?=[/\s'\"():,;]|$)(?:/[^\s'\"():,;]*)?")
_DRIVER_WORDS = re.compile(
    r"(?:^|[\s'\"(])/\w|\\\\|\b(?:SELECT|INSERT|UPDATE|DELETE|CREATE|PRAGMA|FROM|WHERE)\b|sqlite|GDAL|OGR|"
    r"Error\b|Exception\b|errno|\.(?:c|cpp|py):\d", re.IGNORECASE)


def public_message(message: str, paths: Iterable[str | Path] = (), name: str = "file") -> str:
    """`message` with each of `paths` (and its resolved form) shown as `name`, other private paths as `…`, and
    parenthesised driver messages replaced by LOGGED."""
    for path in sorted({str(p) for given in paths for p in (given, Path(given).resolve())}, key=len, reverse=True):
        message = message.replace(path, name)
    return _PATH.sub("…", _drop_driver_groups(message))


def scrub_paths(text: str) -> str:
    """`text` with every absolute path under the server's private roots shown as `…`."""
    return _PATH.sub("…", text)


def _drop_driver_groups(message: str) -> str:
    """Replace each outermost (…) group whose text looks like a driver's message (nested parentheses included)."""
    out: list[str] = []
    start, depth = -1, 0
    for i, char in enumerate(message):
        if char == "(":
            if depth == 0:
                start = i
            depth += 1
        elif char == ")" and depth:
            depth -= 1
            if depth == 0:
                group = message[start:i + 1]
                out.append(LOGGED if _DRIVER_WORDS.search(group[1:-1]) else group)
                start = -1
            continue
        if depth == 0:
            out.append(char)
    if depth:  # an unclosed group to the end: the driver's text was cut short
        tail = message[start:]
        out.append(LOGGED if _DRIVER_WORDS.search(tail) else tail)
    return "".join(out)
