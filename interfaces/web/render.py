"""Markdown to HTML that is safe to put in the page: markdown-it-py with raw HTML
disabled (CommonMark plus tables), then the output cleaned by nh3 (the ammonia
sanitiser): only formatting tags, no event attributes, links limited to http, https and
mailto. The page's Content-Security-Policy forbids inline script as a second wall."""

from __future__ import annotations

from functools import cache
from typing import Final

import nh3
from markdown_it import MarkdownIt

__all__ = ["render_markdown"]

_URL_SCHEMES: Final = frozenset({"http", "https", "mailto"})


@cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def render_markdown(text: str) -> str:
    """``text`` (Markdown) as sanitised HTML; raw HTML in it shows as text."""
    return nh3.clean(
        _parser().render(text),
        url_schemes=set(_URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
    )
