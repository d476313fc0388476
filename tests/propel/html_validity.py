"""Does a page parse as HTML without errors? html5lib implements the WHATWG parsing algorithm and
records every parse error it recovers from (a stray end tag, a duplicate attribute, an unclosed
element...). Attributes the spec does not know (hx-post) are not parse errors: those are what
data-hx-* avoids, and `unknown_attributes` reports them."""

from __future__ import annotations

import re
from dataclasses import dataclass

import html5lib
from html5lib.constants import E


@dataclass(frozen=True)
class ParseError:
    line: int
    column: int
    code: str
    detail: str
    source: str  # the offending line, trimmed

    def __str__(self) -> str:
        return f"line {self.line}:{self.column} {self.detail} | {self.source}"


def parse_errors(document: str) -> list[ParseError]:
    parser = html5lib.HTMLParser(strict=False, namespaceHTMLElements=False)
    parser.parse(document)
    lines = document.splitlines()
    found = []
    for (line, column), code, params in parser.errors:
        try:
            detail = E.get(code, code) % (params or {})
        except (KeyError, TypeError, ValueError):
            detail = f"{code} {params}"
        source = lines[line - 1].strip()[:160] if 0 < line <= len(lines) else ""
        found.append(ParseError(line, column, code, detail, source))
    return found


# hx-*, and any other attribute with a prefix HTML does not define, instead of data-*.
UNKNOWN_ATTRIBUTE = re.compile(r"<[a-zA-Z][^>]*?\s((?:hx|x|v|ng)-[a-z-]+)=")


def unknown_attributes(document: str) -> list[str]:
    return UNKNOWN_ATTRIBUTE.findall(document)
