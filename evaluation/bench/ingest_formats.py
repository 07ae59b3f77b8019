"""Ingestion throughput of HTML pages against .txt files of the same articles, side by side.

The 19 news pages of the shared data (`--pages`) are ingested as they are (`rag ingest
FOLDER`: reading and extracting each page, chunking, embedding, writing), and so are .txt
files holding the same extracted articles (`title`, blank line, body: the stored text is the
same, so are the passages). Each format goes into a fresh store; `--repeat` rounds alternate
the order (html, txt, then txt, html, ...) and the median round is shown. Reading alone (the
readers, no embedding) is timed apart, so the table shows what the page extraction costs
within the whole. With the hashing embedder (default) the extraction dominates; with the real
one (`--embedder sentence-transformers`) the embedding does.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PAGES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "news-pages"
EMBEDDERS = ("hashing", "sentence-transformers")


@dataclass
class Round:
    documents: int
    passages: int
    seconds: float  # the whole ingestion: read, chunk, embed, write
    read_seconds: float  # reading alone


def write_txt(pages: list[Path], folder: Path) -> tuple[list[Path], list[str]]:
    """The extracted article of each page as a .txt file; the pages that had none."""
    from ingest.readers import read_file

    files, skipped = [], []
    for page in pages:
        read = read_file(page)
        if not read.documents:
            skipped.append(f"{page.name}: {'; '.join(read.errors)}")
            continue
        doc = read.documents[0]
        path = folder / f"{page.stem}.txt"
        path.write_text(doc.text, encoding="utf-8")
        files.append(path)
    return files, skipped


def read_seconds(folder: Path) -> float:
    from ingest.readers import find_files, read_file

    start = time.perf_counter()
    for path in find_files([folder]):
        read_file(path)
    return time.perf_counter() - start


def ingest_round(folder: Path, data_dir: Path, embedder, embedder_name: str) -> Round:
    from ingest.service import IngestionService
    from rag.components import make_engines
    from rag.settings import Settings

    settings = Settings(data_dir=data_dir, embedder=embedder_name, llm="scripted")
    ingestion = IngestionService(settings, make_engines(settings, embedder))
    reading = read_seconds(folder)
    start = time.perf_counter()
    report = ingestion.ingest_paths([folder], progress=False)
    seconds = time.perf_counter() - start
    if report.errors:
        raise SystemExit(f"ingestion failed: {report.errors[:3]}")
    passages = sum(o.passages for o in report.outcomes)
    return Round(report.count("added"), passages, seconds, reading)


def median_round(rounds: list[Round]) -> Round:
    ordered = sorted(rounds, key=lambda r: r.seconds)
    return ordered[len(ordered) // 2]


def table(results: dict[tuple[str, str], list[Round]]) -> str:
    lines = [
        "| embedder | format | documents | passages | seconds (median) | documents/s | "
        "passages/s | reading alone (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (embedder, kind), rounds in results.items():
        r = median_round(rounds)
        lines.append(
            f"| {embedder} | {kind} | {r.documents} | {r.passages} | {r.seconds:.2f} | "
            f"{r.documents / r.seconds:.2f} | {r.passages / r.seconds:.1f} | "
            f"{r.read_seconds:.2f} |"
        )
    return "\n".join(lines)


def ratios(results: dict[tuple[str, str], list[Round]]) -> list[str]:
    out = []
    for embedder in dict.fromkeys(e for e, _ in results):
        html, txt = median_round(results[embedder, "html"]), median_round(results[embedder, "txt"])
        spread = [r.seconds for r in results[embedder, "html"] + results[embedder, "txt"]]
        out.append(
            f"{embedder}: HTML pages ingest at {txt.seconds / html.seconds:.2f}x the rate of the "
            f"same articles as .txt ({html.seconds - txt.seconds:+.2f} s for "
            f"{html.documents} pages; reading {html.read_seconds:.2f} s against "
            f"{txt.read_seconds:.2f} s); rounds {min(spread):.2f}-{max(spread):.2f} s"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rag bench ingest_formats", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--pages", type=Path, default=DEFAULT_PAGES, help="a folder of .html")
    parser.add_argument(
        "--embedder",
        nargs="+",
        choices=EMBEDDERS,
        default=["hashing"],
        help="one or both (each is measured on both formats)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="rounds per format (median)")
    args = parser.parse_args(argv)
    pages = sorted(args.pages.glob("*.htm*")) if args.pages.is_dir() else []
    if not pages:
        print(f"no .html pages in {args.pages} (the shared news-pages data)", file=sys.stderr)
        return 2
    from rag.components import make_embedder
    from rag.settings import Settings

    results: dict[tuple[str, str], list[Round]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        html_dir, txt_dir = Path(tmp, "html"), Path(tmp, "txt")
        html_dir.mkdir()
        txt_dir.mkdir()
        for page in pages:
            (html_dir / page.name).write_bytes(page.read_bytes())
        txt_files, skipped = write_txt(list(html_dir.iterdir()), txt_dir)
        for line in skipped:  # a page without article text is left out of both sides
            print(f"left out: {line}", file=sys.stderr)
            (html_dir / line.split(":")[0]).unlink()
        print(f"{len(txt_files)} articles, as .html pages and as .txt files", file=sys.stderr)
        for name in args.embedder:
            embedder = make_embedder(Settings(embedder=name, llm="scripted").models)
            embedder.embed_passages(["Un texte pour charger le modèle."])  # load, warm up
            for round_no in range(args.repeat):
                order = ("html", "txt") if round_no % 2 == 0 else ("txt", "html")
                for kind in order:
                    folder = html_dir if kind == "html" else txt_dir
                    data_dir = Path(tmp, f"data-{name}-{kind}-{round_no}")
                    measured = ingest_round(folder, data_dir, embedder, name)
                    results.setdefault((name, kind), []).append(measured)
                    print(
                        f"{name} {kind} round {round_no + 1}: {measured.seconds:.2f} s",
                        file=sys.stderr,
                    )
    ordered = {k: results[k] for k in sorted(results, key=lambda k: (k[0], k[1] != "html"))}
    print(table(ordered))
    print()
    for line in ratios(ordered):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
