"""A teacher's document as Markdown: text and Markdown as they are, PDF through pypdf, Word through mammoth, and
one clear error for what cannot be read."""

from __future__ import annotations

from pathlib import Path

import pytest

from edubot_cli.errors import TaxonomyError, UsageError
from edubot_cli.taxonomy.doc_convert import to_markdown
from tests.support.office_files import docx_bytes, pdf_bytes


def test_markdown_and_text_are_kept_as_written(tmp_path: Path) -> None:
    md = tmp_path / "Trip Notes.md"
    md.write_bytes("\ufeff# Trip\r\n\r\n\r\n\r\nBring a coat.   \r\n".encode())
    txt = tmp_path / "notes.txt"
    txt.write_text("Line one.\n\nLine two.\n")
    assert (to_markdown(md).markdown, to_markdown(md).kind) == ("# Trip\n\nBring a coat.\n", "markdown")
    assert (to_markdown(txt).markdown, to_markdown(txt).kind) == ("Line one.\n\nLine two.\n", "text")


def test_pdf_text_layer_becomes_paragraphs(tmp_path: Path) -> None:
    pdf = tmp_path / "trip.pdf"
    pdf.write_bytes(
        pdf_bytes(["The trip is on Friday 14 March.", "The coach leaves at 8:15 and", "returns by 16:30."])
    )
    converted = to_markdown(pdf)
    assert converted.kind == "pdf"
    assert (
        converted.markdown
        == "The trip is on Friday 14 March.\n\nThe coach leaves at 8:15 and returns by 16:30.\n"
    )


def test_word_headings_become_markdown_headings(tmp_path: Path) -> None:
    docx = tmp_path / "garden.docx"
    docx.write_bytes(
        docx_bytes([("Heading1", "Garden rules"), (None, "Water the beans (not the weeds) on Monday.")])
    )
    converted = to_markdown(docx)
    assert (converted.kind, converted.markdown) == (
        "docx",
        "# Garden rules\n\nWater the beans (not the weeds) on Monday.\n",
    )


@pytest.mark.parametrize(
    ("name", "data", "error", "message", "hint"),
    [
        ("slides.pptx", b"x", UsageError,
         "{path}: edubot reads Markdown (.md), text (.txt), PDF (.pdf) and Word (.docx) documents, not .pptx",
         "save it as PDF or .docx from the program that made it, then pass that file"),
        ("old.doc", b"x", UsageError,
         "{path}: edubot reads Markdown (.md), text (.txt), PDF (.pdf) and Word (.docx) documents, not .doc",
         "save it as PDF or .docx from the program that made it, then pass that file"),
        ("scan.pdf", None, TaxonomyError, "{path} holds no text",
         "a scanned PDF is a picture of text: export the original document, or run it through OCR first"),
        ("broken.pdf", b"%PDF-1.4\nnot really", TaxonomyError, None,
         "open it in a PDF viewer and save or export it again"),
        ("broken.docx", b"PK not a zip", TaxonomyError, "{path} is not a readable Word document (BadZipFile)",
         "open it in Word or LibreOffice and save it again as .docx"),
        ("latin.txt", "café".encode("latin-1"), TaxonomyError, "{path} is not UTF-8 text",
         "save it again as UTF-8 (most editors offer it under 'Save as')"),
        ("empty.md", b"\n\n", TaxonomyError, "{path} holds no text", "check that it is the right file"),
    ],
)  # fmt: skip
def test_what_cannot_be_read_gets_one_clear_error(
    tmp_path: Path, name: str, data: bytes | None, error: type[Exception], message: str | None, hint: str
) -> None:
    path = tmp_path / name
    path.write_bytes(pdf_bytes([]) if data is None else data)
    with pytest.raises(error) as info:
        to_markdown(path)
    assert info.value.hint == hint  # type: ignore[attr-defined]
    if message is not None:
        assert info.value.message == message.format(path=path)  # type: ignore[attr-defined]
    else:
        assert info.value.message.startswith(f"{path} is not a readable PDF (")  # type: ignore[attr-defined]


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        to_markdown(tmp_path / "gone.md")
    assert (info.value.message, info.value.hint) == (
        f"document {tmp_path / 'gone.md'} does not exist",
        "check the file name and folder",
    )
