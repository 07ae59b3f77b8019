"""Reprints folded in retrieval and shown in citations: the same wire story carried by two
outlets with other headlines fills one place of the search, and its citation names the other
outlet and date (`also_in`); passages of one article are still read together."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import SEED, ingest_into, make_test_service

WIRE = (
    "La mine de zinc de Plouguerneau rouvrira en 2027, a annoncé la préfecture du Finistère "
    "dans un rapport publié mardi. Le gisement, fermé depuis 1985, contiendrait assez de "
    "minerai pour vingt ans d’exploitation selon les géologues du BRGM. La commune attend "
    "une centaine d’emplois directs et la réouverture de la ligne ferroviaire vers Brest."
)


def _export(tmp_path: Path) -> Path:
    articles = [
        {"title": "Le zinc breton renaît", "content": WIRE, "date": "2024-03-05",
         "source": "Le Télégramme", "url": "https://t.example/zinc"},
        {"title": "Plouguerneau : la mine rouvrira",
         "content": WIRE.replace(" selon les géologues du BRGM", ""),
         "date": "2024-03-06", "source": "Ouest-France", "url": "https://o.example/mine"},
        {"title": "Un nouveau ferry à Roscoff", "content": "Le port de Roscoff accueille un "
         "ferry plus long vers l’Irlande, selon la compagnie, qui prévoit trois départs "
         "par semaine dès le printemps.", "date": "2024-03-07", "source": "Le Télégramme"},
    ]  # fmt: skip
    path = tmp_path / "presse.jsonl"
    path.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in articles) + "\n")
    return path


def test_a_reprinted_story_takes_one_place_and_names_its_other_outlets(settings, tmp_path):
    def cite_first(messages) -> str:
        return "La mine de zinc de Plouguerneau rouvrira en 2027 [1]."

    service = make_test_service(settings, cite_first)
    ingest_into(service, settings, [_export(tmp_path), SEED])
    ranked = service.retrieve("Quand la mine de zinc de Plouguerneau rouvrira-t-elle ?", 5)
    outlets = [p.chunk.outlet for p in ranked if "Plouguerneau" in p.chunk.text]
    assert len(outlets) == 1, [(p.chunk.title, p.chunk.outlet) for p in ranked]
    question = {"question": "Quand la mine de zinc rouvrira-t-elle ?"}
    with TestClient(create_app(settings, service)) as client:
        (citation,) = client.post("/v1/ask", json=question).json()["citations"]
        (other,) = citation["also_in"]
        assert {citation["outlet"], other["outlet"]} == {"Le Télégramme", "Ouest-France"}
        assert other["published"] in ("2024-03-05", "2024-03-06") and other["title"]
        # a deleted reprint leaves the story; the other one still answers, alone
        assert client.delete(f"/v1/documents/{other['doc_id']}").status_code == 200
        again = client.post("/v1/ask", json=question).json()["citations"]
        assert again[0]["also_in"] == [] and again[0]["doc_id"] == citation["doc_id"]


def test_passages_of_one_article_are_not_folded(settings):
    service = make_test_service(settings)
    ingest_into(service, settings, [SEED])
    ranked = service.retrieve("Benjamin Gallezot", 5)
    assert len({p.chunk.id for p in ranked}) == len(ranked) > 2  # one article, many passages
