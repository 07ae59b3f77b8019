"""Where ingestion spends its time around the model: the pipeline with a free embedder.

    .venv/bin/python scripts/profile_ingest.py --passages 5000

Ingests PIAF/XQuAD dev paragraphs (and recombined distractors, as scripts/bench_scale.py does)
into a fresh embedded store with an embedder that returns constant vectors instantly, so
what is left is reading, chunking (e5 tokenizer), planning, Chroma and SQLite writes. Prints
passages/s of that pipeline alone and the functions that cost most (cProfile, cumulative).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from bench_scale import Corpus  # noqa: E402


class FreeEmbedder:
    """Constant unit vectors, no model: only the pipeline around it is measured."""

    name, dim = "multilingual-e5-small", 384

    def _vectors(self, n: int) -> np.ndarray:
        v = np.zeros((n, self.dim), dtype=np.float32)
        v[:, 0] = 1.0
        return v

    def embed_queries(self, texts):
        return self._vectors(len(texts))

    def embed_passages(self, texts, progress=None):
        if progress:
            progress(len(texts))
        return self._vectors(len(texts))

    def embed_passages_pooled(self, texts, parts, progress=None):
        return self.embed_passages(texts, progress), [self._vectors(len(p)) for p in parts]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passages", type=int, default=5000)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    from ingest.locking import WriteLock
    from ingest.pipeline import Ingestor, make_chunker
    from rag.components import make_passage_index, make_store
    from rag.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="profile-ingest-"))
    try:
        corpus_dir = work / "corpus"
        Corpus().write(corpus_dir, 0, args.passages)
        settings = Settings(data_dir=work / "data")
        embedder = FreeEmbedder()
        ingestor = Ingestor(
            make_store(settings, embedder),
            make_passage_index(settings),
            embedder,
            make_chunker(settings),
            settings.sentence_vectors,
            WriteLock(settings.data_dir / "ingest.lock"),
        )
        profile = cProfile.Profile()
        t = time.perf_counter()
        profile.enable()
        report = ingestor.ingest_paths([corpus_dir], progress=False)
        profile.disable()
        elapsed = time.perf_counter() - t
        print(f"{report.summary()}")
        print(
            f"pipeline without the model: {report.added} passages in {elapsed:.1f} s = "
            f"{report.added / elapsed:.0f} passages/s ({ingestor.texts_embedded} texts handed "
            "to the embedder)\n"
        )
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
