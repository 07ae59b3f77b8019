from pathlib import Path

from ingest.chunking import Chunker, paragraph_spans
from ingest.readers import parse_article, read_article
from tests.conftest import SEED


def test_seed_chunks_point_exactly_into_the_source_text():
    article = read_article(SEED)
    chunks = Chunker().chunk(article)
    assert len(chunks) >= 3
    for c in chunks:
        assert article.text[c.start : c.end] == c.text
        assert c.doc_id == "000_7304b3bcc082d340"
        assert c.title.startswith("Renforcement de la coopération")
        assert "titane" in c.keywords
    objectives = [c for c in chunks if "quatre objectifs principaux" in c.text]
    assert len(objectives) == 1
    # the heading joins the paragraph it introduces, and the paragraph is not cut
    assert objectives[0].text.startswith("Vers un partenariat renforcé")
    assert objectives[0].text.rstrip().endswith("développement durable et d’innovation.")


def test_long_paragraphs_split_at_sentences_with_exact_offsets():
    sentences = [f"Phrase numéro {i} sur le titane et l’uranium au Kazakhstan." for i in range(80)]
    text = "Titre\n\n" + " ".join(sentences) + "\n\nFin de l’article, avec une dernière phrase."
    article = parse_article(text, Path("long.txt"))
    chunks = Chunker(chunk_size=60, chunk_overlap=10).chunk(article)
    assert len(chunks) > 5
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert len(c.text.split()) <= 60
        assert c.text.endswith(".")  # cut at a sentence end
    covered = set().union(*(range(c.start, c.end) for c in chunks))
    body = range(article.body_start, len(text))
    missing = [i for i in body if i not in covered and not text[i].isspace()]
    assert not missing, "every non-blank character of the body belongs to a chunk"


def test_ids_depend_on_content_not_position():
    base = "Titre\nmot, clé\n\n" + "\n\n".join(
        f"Paragraphe {i} : " + "des mots variés " * 12 + "." for i in range(4)
    )
    edited = base.replace("Paragraphe 0 :", "Paragraphe zéro, réécrit :")
    a = Chunker().chunk(parse_article(base, Path("doc.txt")))
    b = Chunker().chunk(parse_article(edited, Path("doc.txt")))
    assert [c.id for c in a] == [
        c.id for c in Chunker().chunk(parse_article(base, Path("doc.txt")))
    ]
    assert a[0].id != b[0].id
    assert [c.id for c in a[1:]] == [c.id for c in b[1:]]
    assert a[1].start != b[1].start  # offsets moved with the edit, ids did not


def test_paragraph_spans_handle_blank_lines_with_spaces():
    text = "un\n  \n\ndeux trois\n\t\nquatre"
    spans = paragraph_spans(text)
    assert [text[s.start : s.end] for s in spans] == ["un", "deux trois", "quatre"]
