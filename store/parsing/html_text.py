"""HTML email bodies to plain text whose blank lines mark paragraphs, as the brief parser expects."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Tag
from bs4.element import CData, Comment, Declaration, Doctype, NavigableString, PageElement, ProcessingInstruction

_DROPPED = frozenset({"script", "style", "head", "title", "noscript", "template", "svg"})
_BLOCKS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "header",
        "footer",
        "main",
        "aside",
        "nav",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "td",
        "th",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "blockquote",
        "pre",
        "hr",
        "figure",
        "figcaption",
        "address",
        "center",
        "form",
        "fieldset",
        "caption",
    }
)
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_NOT_TEXT = (Comment, Declaration, Doctype, ProcessingInstruction, CData)
# Newsletters hide a "preheader" (often the main insight cut short) for the inbox preview.
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden|mso-hide\s*:\s*all", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_PARAGRAPH = "\n\n"


def html_to_text(html: str) -> str:
    """Block elements become paragraph breaks and ``<br>`` a line break, so ``<br><br>`` separates
    paragraphs as a blank line would; headings come out as Markdown so they are never insights.

    The tree is walked with an explicit stack, not recursion or tree edits: both are quadratic or
    overflow on the deeply nested markup that broken or hostile mail contains.
    """
    soup = BeautifulSoup(html, "html.parser")
    out: list[str] = []
    # (element, closing, inside <pre>); a closing entry ends a block after its children.
    stack: list[tuple[PageElement, bool, bool]] = [(soup, False, False)]
    while stack:
        node, closing, in_pre = stack.pop()
        if closing:
            out.append(_PARAGRAPH)
        elif isinstance(node, NavigableString):
            if not isinstance(node, _NOT_TEXT):
                out.append(str(node) if in_pre else _SPACES.sub(" ", str(node)))
        elif isinstance(node, Tag) and not _hidden(node):
            name = node.name
            if name == "br":
                out.append("\n")
            elif name in _HEADINGS:
                title = _SPACES.sub(" ", node.get_text(" ")).strip()
                out.append(f"{_PARAGRAPH}{'#' * _HEADINGS[name]} {title}{_PARAGRAPH}")
            else:
                block = name in _BLOCKS
                if block:
                    out.append(_PARAGRAPH)
                    stack.append((node, True, in_pre))
                child_in_pre = in_pre or name == "pre"
                stack.extend((child, False, child_in_pre) for child in reversed(node.contents))
    return "".join(out)


def _hidden(tag: Tag) -> bool:
    if tag.name in _DROPPED or tag.has_attr("hidden"):
        return True
    style = tag.get("style")
    return isinstance(style, str) and bool(_HIDDEN_STYLE.search(style))
