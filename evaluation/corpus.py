"""`rag eval FILE.jsonl --corpus PATH...`: a corpus of article files instead of gold passages.

The files are read and ingested by the service's own code (`ingest.readers`,
`Ingestor.ingest_paths`), so a document's id is what `rag ingest` gives it: its file name's
stem. A question names the document that answers it with `gold_doc`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from evaluation.datasets import Dataset, DatasetError, Paragraph
from rag.settings import Settings


def corpus_label(paths: Sequence[Path]) -> str:
    """Part of the collection name: another list of paths gets another collection."""
    resolved = "\n".join(sorted(str(Path(p).resolve()) for p in paths))
    first = Path(paths[0]).resolve().name
    return f"corpus-{first}-{hashlib.sha1(resolved.encode()).hexdigest()[:8]}"


def read_corpus(paths: Sequence[Path]) -> list[Paragraph]:
    """One paragraph per file, with the id `rag ingest` gives it (the slug of its stem)."""
    from ingest.readers import TEXT_SUFFIXES, ReadError, find_files, read_article, slug

    try:
        files = list({f.resolve(): f for f in find_files(list(paths), TEXT_SUFFIXES)}.values())
        articles = [read_article(f) for f in files]
    except ReadError as err:
        raise DatasetError(f"--corpus: {err}") from None
    if not files:
        raise DatasetError(f"--corpus {' '.join(map(str, paths))}: no .txt or .md file")
    paragraphs: dict[str, Paragraph] = {}
    for f, a in zip(files, articles, strict=True):
        doc_id = slug(f.stem)
        if doc_id in paragraphs:
            raise DatasetError(
                f"--corpus: two files would both be document {doc_id!r} ({f}); rename one"
            )
        paragraphs[doc_id] = Paragraph(doc_id, a.title, a.text[a.body_start :], a.language)
    return list(paragraphs.values())


def with_corpus(dataset: Dataset, paragraphs: list[Paragraph], paths: Sequence[Path]) -> Dataset:
    """The dataset's questions over the corpus; every `gold_doc` must be one of its documents."""
    ids = {p.id for p in paragraphs}
    for q in dataset.questions:
        if q.gold is not None and q.gold not in ids:
            raise DatasetError(
                f"{dataset.source}: question {q.id!r} names gold document {q.gold!r}, which "
                f"is not in --corpus {' '.join(map(str, paths))} (documents: "
                f"{', '.join(sorted(ids)[:5])}{', …' if len(ids) > 5 else ''}); with --corpus, "
                "name the document with 'gold_doc', not 'gold_passage'"
            )
    return Dataset(
        name=dataset.name,
        paragraphs=paragraphs,
        questions=dataset.questions,
        language=dataset.language,
        source=dataset.source,
        stats={"documents": len(paragraphs)},
    )


def ingest_corpus(
    paths: Sequence[Path],
    paragraphs: list[Paragraph],
    settings: Settings,
    engines,
    progress: bool = True,
):
    """Ingest the files as `rag ingest` does, through the ingestion service (folders mirrored:
    a file gone from one is deleted from the collection). The ingested ids must be those
    `read_corpus` gave."""
    from ingest.service import IngestionService

    ingestion = IngestionService(settings, engines)
    ingestion.prepare(progress)
    report = ingestion.ingest_paths(list(paths), progress=progress, sync=True)
    if report.errors:
        raise DatasetError("--corpus: " + "; ".join(report.errors))
    got = {o.doc_id for o in report.outcomes if o.status != "deleted"}
    expected = {p.id for p in paragraphs}
    if got != expected:
        raise DatasetError(
            f"--corpus: collection {settings.store.collection!r} gave the files other document ids "
            f"({sorted(got - expected)[:3]}) than their stems; use another --collection"
        )
    return report
