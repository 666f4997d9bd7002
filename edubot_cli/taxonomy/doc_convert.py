"""A teacher's document as Markdown, the form InstructLab and edubot's grounding read.

Markdown and plain text are taken as they are. PDF goes through ``pypdf`` (pure Python, maintained, BSD): its text
layer, page by page; a scanned PDF without one is refused with a hint. Word (``.docx``) goes through ``mammoth``
(pure Python, maintained, BSD): headings, lists and emphasis become Markdown. Both install from PyPI and need no
model or download at run time, unlike docling (layout models from the hub) or markitdown (an ONNX file-type model).
Legacy ``.doc``, ``.odt`` and others are refused with the way out: save as .docx or PDF.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import TaxonomyError, UsageError

MARKDOWN = (".md", ".markdown")
TEXT = (".txt",)
PDF = (".pdf",)
WORD = (".docx",)
SUPPORTED = MARKDOWN + TEXT + PDF + WORD


@dataclass(frozen=True)
class Converted:
    """``source`` as Markdown, with what it was (``markdown``, ``text``, ``pdf``, ``docx``)."""

    source: Path
    markdown: str
    kind: str


def to_markdown(path: Path) -> Converted:
    """Read ``path`` and return it as Markdown; a ``UsageError`` for a kind of file that cannot be read, a
    ``TaxonomyError`` for a file that is broken or holds no text."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise UsageError(
            f"{path}: edubot reads Markdown (.md), text (.txt), PDF (.pdf) and Word (.docx) documents, "
            f"not {suffix or 'files without an extension'}",
            hint="save it as PDF or .docx from the program that made it, then pass that file",
        )
    if not path.is_file():
        raise UsageError(f"document {path} does not exist", hint="check the file name and folder")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TaxonomyError(
            f"cannot read {path}: {exc.strerror}", hint="check the file's permissions"
        ) from exc
    if suffix in PDF:
        text, kind = _pdf(path, raw), "pdf"
    elif suffix in WORD:
        text, kind = _docx(path, raw), "docx"
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise TaxonomyError(
                f"{path} is not UTF-8 text",
                hint="save it again as UTF-8 (most editors offer it under 'Save as')",
            ) from None
        kind = "markdown" if suffix in MARKDOWN else "text"
    text = _tidy(text)
    if not text.strip():
        raise TaxonomyError(
            f"{path} holds no text",
            hint="a scanned PDF is a picture of text: export the original document, or run it through OCR first"
            if kind == "pdf"
            else "check that it is the right file",
        )
    return Converted(path, text, kind)


def _pdf(path: Path, raw: bytes) -> str:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise TaxonomyError(
                f"{path} is protected by a password", hint="save an unprotected copy and pass that"
            )
        pages = [page.extract_text() or "" for page in reader.pages]
    except TaxonomyError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise TaxonomyError(
            f"{path} is not a readable PDF ({exc})",
            hint="open it in a PDF viewer and save or export it again",
        ) from None
    return "\n\n".join(_paragraphs(page) for page in pages if page.strip())


def _paragraphs(page: str) -> str:
    """A PDF page's text lines joined into paragraphs: a line that does not end a sentence continues."""
    out: list[str] = []
    for line in (raw.strip() for raw in page.splitlines()):
        if not line:
            out.append("")
        elif out and out[-1] and not out[-1].endswith((".", "!", "?", ":")):
            out[-1] += " " + line
        else:
            out.append(line)
    return "\n\n".join(p for p in out if p)


def _docx(path: Path, raw: bytes) -> str:
    import io
    import zipfile

    import mammoth

    try:
        result = mammoth.convert_to_markdown(io.BytesIO(raw))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise TaxonomyError(
            f"{path} is not a readable Word document ({type(exc).__name__})",
            hint="open it in Word or LibreOffice and save it again as .docx",
        ) from None
    text: str = result.value
    # mammoth escapes punctuation that Markdown could read as markup (``\.``, ``\(``); a passage quoted back to a
    # student should read as the teacher wrote it.
    return re.sub(r"\\([\\`*_{}\[\]()#+\-.!])", r"\1", text)


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
