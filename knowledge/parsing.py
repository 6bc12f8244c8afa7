"""Uploaded bytes to sections of text: format detection by content, then per-format parsing.

A section is a piece of the document with its own place (a PDF page, a CSV row, the text
under a heading); chunking splits sections further but never merges two of them, so every
chunk can name where it came from.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import PurePath

from knowledge.errors import EmptyDocument, UnreadableDocument, UnsupportedFileType

FORMAT_BY_EXTENSION = {
    ".pdf": "pdf",
    ".csv": "csv",
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".docx": "docx",
}
ALLOWED = "PDF, DOCX, CSV, TXT, Markdown (.md) or HTML"
# A DOCX is a ZIP; its text part is refused beyond this when uncompressed (zip bombs).
MAX_DOCX_XML_BYTES = 50 * 1024 * 1024

# Signatures of binary formats people upload by mistake (images, archives, office files).
_BINARY_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"PK\x03\x04": "a ZIP archive (or DOCX/XLSX)",
    b"\x7fELF": "an executable",
    b"\xd0\xcf\x11\xe0": "an old Office document",
    b"\x1f\x8b": "a gzip archive",
}
_HTML_TAG = re.compile(r"<\s*(html|body|head|p|div|h[1-6]|ul|ol|li|table|section|article)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Section:
    text: str
    metadata: dict = field(default_factory=dict)
    # Text repeated in front of every chunk of the section (a CSV header, a heading path).
    context: str = ""


def detect_format(data: bytes, filename: str, field_name: str = "file") -> str:
    """The document format of an upload, checked against its content.

    The extension says which text format is meant; the content must agree with it (a PDF
    really starts with ``%PDF-``, a "text" file is really text, HTML has tags, a CSV has
    rows of columns). Raises ``UnsupportedFileType`` naming ``field_name`` otherwise.
    """
    name = PurePath(filename or "").name
    ext = PurePath(name.lower()).suffix
    fmt = FORMAT_BY_EXTENSION.get(ext)
    if fmt is None:
        raise UnsupportedFileType(
            f"{field_name}: {name or 'the upload'} is not an accepted type; upload {ALLOWED}.",
            field=field_name,
        )
    head = data[:8]
    if fmt == "docx":
        if not _is_docx(data):
            raise UnsupportedFileType(
                f"{field_name}: {name} is named .docx but its content is not a Word document.",
                field=field_name,
            )
        return fmt
    if _is_docx(data):
        raise UnsupportedFileType(
            f"{field_name}: {name} is a Word document named {ext}; rename it to .docx.",
            field=field_name,
        )
    if fmt == "pdf":
        if not data.startswith(b"%PDF-"):
            raise UnsupportedFileType(
                f"{field_name}: {name} is named .pdf but its content is not a PDF.", field=field_name
            )
        return fmt
    for magic, what in _BINARY_MAGIC.items():
        if head.startswith(magic):
            raise UnsupportedFileType(
                f"{field_name}: {name} is named {ext} but its content is {what}; upload {ALLOWED}.",
                field=field_name,
            )
    if data.startswith(b"%PDF-"):
        raise UnsupportedFileType(
            f"{field_name}: {name} is a PDF named {ext}; rename it to .pdf.", field=field_name
        )
    text = decode_text(data, name, field_name)
    if fmt == "html" and not _HTML_TAG.search(text):
        raise UnsupportedFileType(
            f"{field_name}: {name} is named {ext} but has no HTML tags.", field=field_name
        )
    if fmt == "csv":
        _csv_rows(text, name, field_name)
    return fmt


def decode_text(data: bytes, name: str = "", field_name: str = "file") -> str:
    if b"\x00" in data[:4096]:
        raise UnsupportedFileType(
            f"{field_name}: {name or 'the upload'} is binary, not text; upload {ALLOWED}.",
            field=field_name,
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheets exported on Windows are often cp1252; accept it when it decodes.
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise UnsupportedFileType(
                f"{field_name}: {name or 'the upload'} is not UTF-8 text.", field=field_name
            ) from exc


def parse(data: bytes, fmt: str, name: str = "") -> list[Section]:
    """The sections of a document. Raises ``EmptyDocument`` when there is no text at all."""
    if fmt == "pdf":
        sections = _parse_pdf(data, name)
    elif fmt == "docx":
        sections = _parse_docx(data, name)
    elif fmt == "csv":
        sections = _parse_csv(decode_text(data, name), name)
    elif fmt == "md":
        sections = _parse_markdown(decode_text(data, name))
    elif fmt == "html":
        sections = _parse_html(decode_text(data, name))
    else:
        sections = [Section(text=decode_text(data, name).strip())]
    sections = [s for s in sections if s.text.strip()]
    if not sections:
        raise EmptyDocument(f"{name or 'The document'} has no text to index.", field="file")
    return sections


def _parse_pdf(data: bytes, name: str) -> list[Section]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UnreadableDocument(f"{name} is password-protected.", field="file")
        return [
            Section(text=_squeeze(page.extract_text() or ""), metadata={"page": number})
            for number, page in enumerate(reader.pages, start=1)
        ]
    except PdfReadError as exc:
        raise UnreadableDocument(f"{name} is a damaged PDF: {exc}", field="file") from exc


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_DOCX_HEADING = re.compile(r"^(?:heading|título|titulo|berschrift|titre)\s*(\d)$", re.IGNORECASE)


def _is_docx(data: bytes) -> bool:
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def _parse_docx(data: bytes, name: str) -> list[Section]:
    """Paragraphs and tables of the body in order, split on headings (``Heading 1``..``9``
    styles, or outline levels) like Markdown; a table row becomes a line of cells."""
    import xml.etree.ElementTree as ET

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = archive.getinfo("word/document.xml")
            if info.file_size > MAX_DOCX_XML_BYTES:
                raise UnreadableDocument(f"{name}: its text part is too large.", field="file")
            root = ET.fromstring(archive.read(info))
    except (zipfile.BadZipFile, KeyError, ET.ParseError) as exc:
        raise UnreadableDocument(f"{name} is a damaged Word document: {exc}", field="file") from exc
    body = root.find(f"{_W}body")
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    lines: list[str] = []

    def flush():
        text = "\n".join(lines).strip()
        if text:
            heading = " > ".join(t for _, t in path)
            sections.append(
                Section(text=text, metadata={"heading": heading} if heading else {}, context=heading)
            )
        lines.clear()

    for block in body if body is not None else []:
        if block.tag == f"{_W}p":
            text = _docx_text(block)
            level = _docx_heading_level(block)
            if level and text:
                flush()
                path[:] = [(lvl, t) for lvl, t in path if lvl < level] + [(level, text)]
            elif text:
                lines.append(text)
        elif block.tag == f"{_W}tbl":
            for row in block.iter(f"{_W}tr"):
                cells = [" ".join(_docx_text(p) for p in tc.iter(f"{_W}p")).strip()
                         for tc in row.iter(f"{_W}tc")]
                if any(cells):
                    lines.append(" | ".join(cells))
    flush()
    return sections


def _docx_text(paragraph) -> str:
    parts = []
    for node in paragraph.iter():
        if node.tag == f"{_W}t" and node.text:
            parts.append(node.text)
        elif node.tag == f"{_W}tab":
            parts.append("\t")
        elif node.tag in (f"{_W}br", f"{_W}cr"):
            parts.append("\n")
    return _squeeze("".join(parts))


def _docx_heading_level(paragraph) -> int:
    props = paragraph.find(f"{_W}pPr")
    if props is None:
        return 0
    style = props.find(f"{_W}pStyle")
    if style is not None:
        value = style.get(f"{_W}val", "")
        if value.lower() == "title":
            return 1
        match = _DOCX_HEADING.match(value.replace("_", " ").strip()) or re.match(
            r"^heading(\d)$", value, re.IGNORECASE
        )
        if match:
            return int(match.group(1))
    outline = props.find(f"{_W}outlineLvl")
    if outline is not None and outline.get(f"{_W}val", "").isdigit():
        return int(outline.get(f"{_W}val")) + 1
    return 0


def _csv_rows(text: str, name: str, field_name: str = "file") -> list[list[str]]:
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error as exc:
        raise UnsupportedFileType(
            f"{field_name}: {name} is named .csv but has no columns.", field=field_name
        ) from exc
    rows = [row for row in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in row)]
    if len(rows) < 2 or len(rows[0]) < 2:
        raise UnsupportedFileType(
            f"{field_name}: {name} needs a header row and at least one data row.", field=field_name
        )
    return rows


def _parse_csv(text: str, name: str) -> list[Section]:
    rows = _csv_rows(text, name)
    header = [h.strip() for h in rows[0]]
    sections = []
    for number, row in enumerate(rows[1:], start=1):
        pairs = [
            f"{header[i] if i < len(header) else f'column {i + 1}'}: {value.strip()}"
            for i, value in enumerate(row)
            if value.strip()
        ]
        sections.append(Section(text="\n".join(pairs), metadata={"row": number}))
    return sections


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def _parse_markdown(text: str) -> list[Section]:
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    lines: list[str] = []
    in_fence = False

    def flush():
        body = "\n".join(lines).strip()
        if body:
            heading = " > ".join(title for _, title in path)
            sections.append(
                Section(text=body, metadata={"heading": heading} if heading else {}, context=heading)
            )
        lines.clear()

    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        match = None if in_fence else _MD_HEADING.match(line)
        if match:
            flush()
            level = len(match.group(1))
            path[:] = [(lvl, t) for lvl, t in path if lvl < level] + [(level, match.group(2))]
        else:
            lines.append(line)
    flush()
    return sections


class _HTMLSections(HTMLParser):
    _SKIP = {"script", "style", "noscript", "template", "svg", "nav", "footer", "head"}
    _BLOCK = {"p", "div", "li", "tr", "br", "section", "article", "table", "ul", "ol", "dd", "dt",
              "blockquote", "pre"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sections: list[Section] = []
        self.path: list[tuple[int, str]] = []
        self.buffer: list[str] = []
        self.heading: list[str] | None = None
        self.heading_level = 0
        self.skip_depth = 0

    def flush(self):
        body = _squeeze("".join(self.buffer))
        if body:
            heading = " > ".join(t for _, t in self.path)
            self.sections.append(
                Section(text=body, metadata={"heading": heading} if heading else {}, context=heading)
            )
        self.buffer = []

    def handle_starttag(self, tag, attrs):
        if tag in self._SKIP:
            self.skip_depth += 1
        elif re.fullmatch(r"h[1-6]", tag) and not self.skip_depth:
            self.flush()
            self.heading, self.heading_level = [], int(tag[1])
        elif tag in self._BLOCK:
            self._text("\n")

    def handle_endtag(self, tag):
        if tag in self._SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif self.heading is not None and tag == f"h{self.heading_level}":
            title = " ".join("".join(self.heading).split())
            level = self.heading_level
            self.path = [(lvl, t) for lvl, t in self.path if lvl < level] + [(level, title)]
            self.heading = None
        elif tag in self._BLOCK:
            self._text("\n")

    def handle_data(self, data):
        if not self.skip_depth:
            self._text(data)

    def _text(self, data):
        (self.heading if self.heading is not None else self.buffer).append(data)


def _parse_html(text: str) -> list[Section]:
    parser = _HTMLSections()
    parser.feed(text)
    parser.close()
    parser.flush()
    return parser.sections


def _squeeze(text: str) -> str:
    """Collapse runs of spaces, keep paragraph breaks."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    out = "\n".join(line for line in lines if line)
    return out.strip()
