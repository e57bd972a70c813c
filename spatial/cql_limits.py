"""Bounds on a CQL2 filter, so that no filter can crash or stall the server.

The `cql2` parser is compiled Rust and recursive: a few thousand nested parentheses, `NOT`s or unary minus signs
overflow the stack of the thread that parses them, and the process dies (a segmentation fault, not an exception).
So a filter is bounded three ways:

- its text is at most `MAX_CHARS` long (the nesting a parser can be asked for is at most that);
- a text long enough to nest deeper than an ordinary thread's stack allows is parsed in a thread of its own with a
  stack sized for the worst case of `MAX_CHARS` (the thread ends with the parse, so its stack is given back);
- the parsed tree may nest at most `MAX_DEPTH` expressions deep and hold at most `MAX_NODES` of them, checked
  without recursion before anything walks it recursively (the compiler does).

Each limit is a 400 naming the `filter` parameter and the limit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from spatial.errors import InvalidParameter

MAX_CHARS = 16_384
MAX_DEPTH = 32  # nested expressions: and/or/not, comparisons, arithmetic, functions
MAX_NODES = 2_000  # expressions and values (a geometry literal is one)
# Below this length a text cannot nest deep enough to need more than a default 8 MiB thread stack (measured: about
# 4 KiB of stack per nesting level at worst, one level per character at most).
INLINE_CHARS = 1_024
# 16,384 levels x 4 KiB = 64 MiB: twice that. Only the pages the parse touches are ever committed.
PARSE_STACK_BYTES = 128 << 20
PARAM = "filter"
T = TypeVar("T")


def check_text(text: str) -> None:
    if len(text) > MAX_CHARS:
        raise InvalidParameter(f"filter: {len(text):,} characters; a filter may have at most {MAX_CHARS:,}",
                               parameter=PARAM)
    if "\x00" in text:
        raise InvalidParameter("filter: contains a NUL character (\\x00)", parameter=PARAM)


def run_with_deep_stack(parse: Callable[[], T], text: str) -> T:
    """`parse()` — in this thread for a short text, else in a thread with a stack big enough for any text of at
    most MAX_CHARS characters. Exceptions raised by `parse` are raised here."""
    if len(text) <= INLINE_CHARS:
        return parse()
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = parse()
        except BaseException as exc:  # handed to the caller's thread, raised there
            outcome["error"] = exc

    with _STACK_LOCK:  # threading.stack_size is process-wide: set it only for the thread made here
        previous = threading.stack_size(PARSE_STACK_BYTES)
        try:
            thread = threading.Thread(target=target, name="cql2-parse", daemon=True)
            thread.start()
        finally:
            threading.stack_size(previous)
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


_STACK_LOCK = threading.Lock()


def check_tree(tree: Any) -> None:
    """The parsed CQL2-JSON tree nests at most MAX_DEPTH expressions and holds at most MAX_NODES (no recursion)."""
    stack: list[tuple[Any, int]] = [(tree, 1)]
    nodes = 0
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise InvalidParameter(f"filter: more than {MAX_NODES:,} expressions and values; simplify the filter",
                                   parameter=PARAM)
        if depth > MAX_DEPTH:
            raise InvalidParameter(f"filter: expressions nested more than {MAX_DEPTH} deep; simplify the filter",
                                   parameter=PARAM)
        if isinstance(node, dict):
            if "type" in node and "coordinates" in node or "bbox" in node:
                continue  # a geometry literal: one value (its size is bounded by the text's)
            children = node.get("args")
            if isinstance(children, list):
                stack.extend((child, depth + 1) for child in children)
            elif "interval" in node and isinstance(node["interval"], list):
                stack.extend((child, depth + 1) for child in node["interval"])
        elif isinstance(node, list):  # the value list of IN, an array literal
            stack.extend((child, depth + 1) for child in node)
        elif isinstance(node, str) and "\x00" in node:
            raise InvalidParameter("filter: a text value contains a NUL character (\\x00)", parameter=PARAM)
