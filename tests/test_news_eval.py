"""The news evaluation set (evaluation/data/news.json): its corpus is built as it says
(reprints fold into their story, briefs with a changed value stay apart so the disagreement
can be seen), and `rag eval` scores what the code decides without a model: windows read from
the questions, empty windows named, reprints folded in retrieval, no false alarm."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluation.news import load_news_set, run_news
from rag.stories import StoryIndex

NEWS = Path(__file__).resolve().parents[1] / "evaluation" / "data" / "news.json"
PAGES = Path(__file__).resolve().parents[2] / "shared" / "data" / "news-pages"
pytestmark = pytest.mark.skipif(
    not PAGES.is_dir(), reason=f"the news pages are not at {PAGES} (../shared/data)"
)


def test_the_built_corpus_holds_reprints_and_disagreeing_briefs(tmp_path):
    news = load_news_set(NEWS)
    built = {a.key: a for a in news.built}
    assert "$900 an hour" in built["brothel@globe"].text
    assert "$600" not in built["brothel@globe"].text
    assert "26 milliards de tonnes" in built["terres@afrique"].text
    # the reprints are near-duplicates of their source; the briefs are not
    stories = StoryIndex(tmp_path / "stories.sqlite", "news")
    for key, article in news.articles.items():
        stories.add(key, article.text)
    assert stories.story("seed@lesechos") == stories.story("seed@tribune") == stories.story("seed")
    assert stories.story("napa@sfgate") == stories.story("abc7news.com-Napa")
    for brief, source in [
        ("brothel@globe", "bostonherald.com-Brothel-catering"),
        ("bronx@times", "gothamist.com-plagues"),
        ("terres@afrique", "dw.com-elephants"),
    ]:
        assert stories.story(brief) != stories.story(source), brief


@pytest.mark.slow  # 15 s: 36 questions over 236 passages
def test_what_the_code_decides_is_scored_without_a_model(tmp_path):
    from rag.settings import Settings

    settings = Settings(embedder="hashing", llm="scripted")
    rows = {r["row"]: r for r in run_news(NEWS, tmp_path / "out", False, settings)}
    assert rows["time questions: window read right"]["value"] == 1.0
    assert rows["nothing in the window: said so, naming it"]["value"] == 1.0
    assert rows["reprints: top 5 holds 5 distinct stories"]["value"] == 1.0
    assert rows["false alarms: sources-differ on agreeing sources"]["value"] == 0.0
    assert rows["collection questions: precision of the list"]["value"] >= 0.9
    assert (tmp_path / "out" / "report.md").read_text().count("\n") == len(rows) + 2
