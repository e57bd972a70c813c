"""An upload's form fields as the loader's options, checked before the job is queued: a bad option is the
client's 400 at once, not a failed job later. What only the file can tell (a mapping naming a field the file
lacks, a required column nothing maps to) is the loader's to find, with the loader's own words."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from spatial.errors import InvalidParameter
from spatial.io.crs import CrsError, resolve
from spatial.io.encodings import ENCODINGS
from spatial.io.loader import LoadOptions
from spatial.layers import Layer

MODES = ("append", "replace", "upsert")
FIELDS = ("mode", "key", "encoding", "crs", "mapping", "set", "source_layer", "dry_run", "strict")
TRUE, FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off", ""}
# the loader speaks the CLI's option names; an upload's client knows the form's
_CLI_NAMES = {"--map": "mapping", "--set": "set", "--key": "key", "--crs": "crs", "--encoding": "encoding",
              "--source-layer": "source_layer", "--strict": "strict", "--mode": "mode", "--dry-run": "dry_run"}
_CLI = re.compile("|".join(re.escape(k) for k in sorted(_CLI_NAMES, key=len, reverse=True)))


def form_words(message: str) -> str:
    """A loader's message with its command-line option names (`--map SRC=DEST`) given as the form's (`mapping`)."""
    return _CLI.sub(lambda m: _CLI_NAMES[m.group(0)], message)


def load_options(layer: Layer, fields: Mapping[str, str], batch_rows: int) -> LoadOptions:
    """The loader's options for an upload into `layer` from the form's text `fields` (InvalidParameter, naming the
    field, for a bad one)."""
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise InvalidParameter(f"{unknown[0]}: not an option of an import; the options: {', '.join(FIELDS)}",
                               parameter=unknown[0])
    mode = fields.get("mode", "append").strip() or "append"
    if mode not in MODES:
        raise InvalidParameter(f"mode: {mode!r}; use {', '.join(MODES)}", parameter="mode")
    key = fields.get("key", "code").strip() or "code"
    if layer.column(key) is None:
        raise InvalidParameter(f"key: {key!r} is not a column of {layer.id}; its columns: "
                               f"{', '.join(layer.column_names)}", parameter="key")
    encoding = fields.get("encoding", "auto").strip().lower() or "auto"
    if encoding != "auto" and encoding not in ENCODINGS:
        raise InvalidParameter(f"encoding: {encoding!r}; use auto, {', '.join(ENCODINGS)}", parameter="encoding")
    crs = fields.get("crs", "").strip() or None
    if crs is not None:
        try:
            resolve(None, crs, None, "crs")
        except CrsError as exc:
            raise InvalidParameter(form_words(exc.detail), parameter="crs") from None
    return LoadOptions(layer=layer.id, mode=mode, key=key, crs=crs, encoding=encoding,  # type: ignore[arg-type]
                       set_values=_text_object(fields, "set"), field_map=_text_object(fields, "mapping"),
                       source_layer=fields.get("source_layer", "").strip() or None,
                       dry_run=_flag(fields, "dry_run"), strict=_flag(fields, "strict"), batch_size=batch_rows)


def options_json(options: LoadOptions) -> dict[str, Any]:
    """What a job records of its options (and shows in `GET /jobs/{id}`), by the form's names."""
    values = asdict(options)
    return {"mode": values["mode"], "key": values["key"], "encoding": values["encoding"], "crs": values["crs"],
            "mapping": values["field_map"], "set": values["set_values"], "source_layer": values["source_layer"],
            "dry_run": values["dry_run"], "strict": values["strict"]}


def _flag(fields: Mapping[str, str], name: str) -> bool:
    value = fields.get(name, "").strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise InvalidParameter(f"{name}: {value!r}; use true or false", parameter=name)


def _text_object(fields: Mapping[str, str], name: str) -> dict[str, str]:
    """A JSON object of names to texts (`{"TEN": "name_vi"}`); numbers and booleans are taken as their text."""
    text = fields.get(name, "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidParameter(f"{name}: not JSON ({exc})", parameter=name) from None
    if not isinstance(value, dict) or not all(isinstance(v, str | int | float | bool) for v in value.values()):
        raise InvalidParameter(f'{name}: a JSON object of names to texts, e.g. {{"TEN": "name_vi"}}',
                               parameter=name)
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}
