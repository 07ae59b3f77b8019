from pathlib import Path

import pytest

from ingest.readers import ReadError, find_files, read_article
from tests.conftest import SEED


def test_seed_format(tmp_path: Path):
    article = read_article(SEED)
    assert article.title == "Renforcement de la coopération franco-kazakhe dans l’achat de titane"
    assert article.keywords[:3] == ("titane", "Kazakhstan", "achat")
    assert article.language == "fr"
    assert article.text[article.body_start :].startswith("\nLa France envisage")


def test_markdown_and_plain_text(tmp_path: Path):
    md = tmp_path / "note.md"
    md.write_text("# A heading\n\nSome English text about titanium and aviation.\n")
    art = read_article(md)
    assert art.title == "A heading" and art.keywords == () and art.language == "en"
    plain = tmp_path / "plain.txt"
    plain.write_text("This first line is a long sentence that ends with a period, so it is text.\n")
    art = read_article(plain)
    assert art.title == "plain" and art.body_start == 0


def test_bad_files_name_the_file_and_line(tmp_path: Path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"Titre\nligne deux\n" + b"\xff\xfe oops\n")
    with pytest.raises(ReadError, match=r"bad\.txt:3: not valid UTF-8"):
        read_article(bad)
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    with pytest.raises(ReadError, match=r"empty\.txt:1: empty file"):
        read_article(empty)
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(b"%PDF")
    with pytest.raises(ReadError, match="unsupported file type"):
        read_article(pdf)
    with pytest.raises(ReadError, match="no such file"):
        find_files([tmp_path / "missing"])
