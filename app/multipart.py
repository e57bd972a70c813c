"""A multipart/form-data body taken apart in a worker thread (blocking): its file part streamed to a file, its
other parts — short text fields, a form's options — collected with bounds on their number and size. The body
itself has been received within its size limit already (`app.bodies.receive_body`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from app.problems import Problem

MAX_FIELDS = 32
MAX_FIELD_BYTES = 64 * 1024


@dataclass
class Form:
    found: bool = False  # the body had the file part
    filename: str | None = None  # the file part's name as the client gave it (never a path on this machine)
    fields: dict[str, str] = field(default_factory=dict)  # the other parts, as text (the first of each name)


def read_form(body: IO[bytes], content_type: str, file_field: str, target: Path, *,
              keep_fields: bool = True) -> Form:
    """Write the part named `file_field` to `target` and return it with the other parts' text (skipped unread
    when not `keep_fields`). 400 for a body that is not multipart, or a text field past the bounds."""
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise Problem(400, "Invalid body", "body: a multipart body needs a boundary", parameter="Content-Type")
    form = Form()
    part: dict[str, Any] = {"headers": {}, "name": b"", "value": b"", "field": None, "writing": False,
                            "text": bytearray()}

    def header_end() -> None:
        part["headers"][part["name"].lower()] = part["value"]
        part["name"] = part["value"] = b""

    def headers_finished() -> None:
        _, disposition = parse_options_header(part["headers"].get(b"content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        part["writing"] = name == file_field and not form.found
        if part["writing"] and b"filename" in disposition:
            form.filename = disposition[b"filename"].decode("utf-8", "replace")
        part["field"] = name if keep_fields and name != file_field and name not in form.fields else None
        if part["field"] is not None and len(form.fields) >= MAX_FIELDS:
            raise Problem(400, "Invalid body", f"body: more than {MAX_FIELDS} form fields", parameter="body")

    def data(chunk: bytes, start: int, end: int) -> None:
        if part["writing"]:
            out.write(chunk[start:end])
        elif part["field"] is not None:
            part["text"] += chunk[start:end]
            if len(part["text"]) > MAX_FIELD_BYTES:
                raise Problem(400, "Invalid body", f"{part['field']}: more than {MAX_FIELD_BYTES} bytes",
                              parameter=part["field"])

    def part_end() -> None:
        form.found = form.found or part["writing"]
        if part["field"] is not None:
            try:
                form.fields[part["field"]] = part["text"].decode("utf-8")
            except UnicodeDecodeError:
                raise Problem(400, "Invalid body", f"{part['field']}: not UTF-8 text",
                              parameter=part["field"]) from None
        part.update(headers={}, writing=False, field=None, text=bytearray())

    with target.open("wb") as out:
        parser = MultipartParser(boundary, {
            "on_header_field": lambda c, s, e: part.update(name=part["name"] + c[s:e]),
            "on_header_value": lambda c, s, e: part.update(value=part["value"] + c[s:e]),
            "on_header_end": header_end, "on_headers_finished": headers_finished, "on_part_data": data,
            "on_part_end": part_end})
        try:
            while chunk := body.read(1 << 20):
                parser.write(chunk)
            parser.finalize()
        except MultipartParseError as exc:
            raise Problem(400, "Invalid body", f"body: not a readable multipart body ({exc})",
                          parameter="body") from None
    return form
