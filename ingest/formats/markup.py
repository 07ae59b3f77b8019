"""HTML -> text helpers shared by the readers: bytes decoded as a browser would, and the
paragraphs of trafilatura's body tree or of an HTML fragment (feed content, export bodies)."""

from __future__ import annotations

import codecs
import re
from copy import deepcopy

import lxml.etree
import lxml.html
from lxml.etree import _Element
from trafilatura.utils import decode_file
from trafilatura.xml import xmltotxt

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# The HTML standard's prescan: a charset declared in a <meta> near the top of the page.
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE
)
_XML_ENCODING = re.compile(rb"""^<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9._:-]+)""")


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name.strip()).name
    except LookupError:
        return None


def decode_html(raw: bytes, encoding: str = "") -> str:
    """Bytes -> text by the browser's order: a BOM, then the charset of the HTTP header
    (`encoding`), then the page's own <meta charset> or XML declaration, then UTF-8 when the
    bytes are valid UTF-8, then a guess (charset_normalizer, through trafilatura)."""
    for bom, name in _BOMS:
        if raw.startswith(bom):
            return raw[len(bom) :].decode(name, "replace")
    declared = _XML_ENCODING.search(raw[:200]) or _META_CHARSET.search(raw[:4096])
    candidates = [encoding, declared.group(1).decode("ascii") if declared else ""]
    for name in filter(None, map(_codec, filter(None, candidates))):
        # pages that declare latin-1 are in fact windows-1252, as browsers read them
        name = "cp1252" if name in ("latin-1", "iso8859-1", "ascii") else name
        try:
            return raw.decode(name)
        except UnicodeDecodeError:
            continue
    return decode_file(raw)


def body_paragraphs(body: _Element | None) -> list[str]:
    """The blocks of trafilatura's body tree (paragraphs, headings, lists, quotes, tables), each
    as one paragraph; line breaks inside a block stay single newlines."""
    if body is None:
        return []
    blocks = [body.text or ""]
    for child in body:
        blocks.append(xmltotxt(deepcopy(child), include_formatting=False))
    paragraphs = []
    for block in blocks:
        lines = [" ".join(line.split()) for line in block.split("\n")]
        paragraph = "\n".join(line for line in lines if line)
        if paragraph:
            paragraphs.append(paragraph)
    return paragraphs


# Elements that start a new paragraph in an HTML fragment (feed content, export bodies).
_BLOCKS = {
    "p", "div", "section", "article", "header", "footer", "aside", "blockquote", "pre",
    "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd", "table", "tr",
    "figure", "figcaption", "hr", "main", "address",
}  # fmt: skip
_DROPPED = ("script", "style", "noscript", "iframe", "object", "embed", "template", "svg")


def fragment_paragraphs(html: str) -> list[str]:
    """The paragraphs of an HTML fragment that is all article (a feed entry's content): each
    block element starts a paragraph, <br> a line; scripts and styles are dropped."""
    if not html.strip():
        return []
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return []
    for element in root.iter(*_DROPPED):
        element.drop_tree()
    # marks that no text holds: one for paragraph breaks, one for line breaks
    par, line = "\ue000", "\ue001"
    for element in root.iter():
        if not isinstance(element.tag, str):  # comments, processing instructions
            continue
        if element.tag == "br":
            element.tail = line + (element.tail or "")
        elif element.tag in _BLOCKS:
            element.text = par + (element.text or "")
            element.tail = par + (element.tail or "")
    text = root.text_content()
    paragraphs = []
    for block in text.split(par):
        lines = (" ".join(piece.split()) for piece in block.split(line))
        paragraph = "\n".join(piece for piece in lines if piece)
        if paragraph:
            paragraphs.append(paragraph)
    return paragraphs
