"""Plain, readable HTML pages for people browsing the API (f=html). No scripts, no CDN."""

from __future__ import annotations

from html import escape
from typing import Any

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#222}"
    "table{border-collapse:collapse;font-size:.9rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;"
    "text-align:left;vertical-align:top}th{background:#f3f3f3}nav a{margin-right:1rem}code{font-size:.85rem}"
)


def page(title: str, body: str, links: list[dict[str, Any]] | None = None) -> bytes:
    nav = ""
    if links:
        nav = "<nav>" + "".join(
            f'<a href="{escape(link["href"])}">{escape(link.get("title") or link["rel"])}</a>' for link in links
        ) + "</nav>"
    return (
        f'<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{nav}{body}</body></html>"
    ).encode()


def value(v: Any) -> str:
    if isinstance(v, str) and v.startswith(("http://", "https://")):
        return f'<a href="{escape(v)}">{escape(v)}</a>'
    if isinstance(v, dict | list):
        import orjson

        return f"<code>{escape(orjson.dumps(v).decode())}</code>"
    return "" if v is None else escape(str(v))


def table(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    if not rows:
        return "<p>Nothing here.</p>"
    columns = columns or list(dict.fromkeys(k for row in rows for k in row))
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{value(row.get(c))}</td>" for c in columns) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def definition_list(items: dict[str, Any]) -> str:
    return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{value(v)}</dd>" for k, v in items.items()) + "</dl>"
