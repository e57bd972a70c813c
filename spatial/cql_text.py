"""CQL2 text as the standard writes it, before the parser reads it.

CQL2 (OGC 21-065, its BNF's `escapeQuote`) lets a quote inside a character literal be written either doubled
(`'it''s'`) or with a backslash (`'it\\'s'`). The `cql2` parser takes only the doubled form, so
`normalise_quotes` rewrites the backslash form into it — inside literals only, scanning quote by quote, so text
outside literals (property names, numbers, operators) is never touched.
"""

from __future__ import annotations


def normalise_quotes(text: str) -> str:
    """`text` with every `\\'` inside a character literal written as `''`; anything else as it is."""
    if "\\'" not in text:
        return text
    out: list[str] = []
    inside = False
    i = 0
    while i < len(text):
        char = text[i]
        if inside and char == "\\" and text[i + 1:i + 2] == "'":
            out.append("''")
            i += 2
            continue
        if char == "'":
            if inside and text[i + 1:i + 2] == "'":  # a doubled quote: still inside
                out.append("''")
                i += 2
                continue
            inside = not inside
        out.append(char)
        i += 1
    return "".join(out)
