"""Documents over HTTP (hashing embedder, scripted LLM, real embedded Chroma and SQLite)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import SEED, ingest_into, make_test_service

ARTICLE = (
    "Le zinc breton\n"
    "zinc, Bretagne\n"
    "\n"
    "La mine de Plouguerneau rouvrira en 2027 pour extraire du zinc, selon la préfecture du "
    "Finistère, qui a publié mardi un long rapport sur le gisement, les forages réalisés depuis "
    "trois ans, les contraintes environnementales de la côte et le calendrier des enquêtes "
    "publiques prévues avant les premiers travaux de remise en état du site.\n"
    "\n"
    "Le projet prévoit cent vingt emplois directs et un investissement de 40 millions d’euros, "
    "financé en partie par la région, par un fonds public dédié aux métaux critiques et par un "
    "groupe industriel belge déjà présent en Bretagne, qui transformera le minerai dans son "
    "usine voisine de Lorient.\n"
)


def cite_zinc(messages) -> str:
    """Cites the passage about the zinc mine when the model is given it."""
    user = messages[-1].content
    blocks = re.split(r"\n\n(?=\[\d+\] )", user.split("Sources:\n", 1)[-1])
    for b in blocks:
        if "Plouguerneau" in b:
            return f"La mine de Plouguerneau rouvrira en 2027 [{b[1 : b.index(']')]}]."
    return "Les sources ne le disent pas."


@pytest.fixture
def client(settings):
    service = make_test_service(settings, cite_zinc)
    ingest_into(service, settings, [SEED])
    with TestClient(create_app(settings, service)) as c:
        yield c


def upload(client, *files: tuple[str, bytes], **params) -> httpx.Response:
    return client.post(
        "/v1/documents",
        files=[("files", (name, raw, "text/plain")) for name, raw in files],
        params=params,
    )


def statuses(job: dict) -> dict[str, str]:
    return {o["name"]: o["status"] for o in job["outcomes"]}


def retrieved_docs(client, question: str) -> set[str]:
    r = client.post("/v1/retrieve", json={"question": question, "top_k": 10})
    return {p["doc_id"] for p in r.json()["passages"]}


def test_an_uploaded_article_is_answerable_at_once_and_gone_once_deleted(client):
    r = upload(client, ("zinc.txt", ARTICLE.encode()))
    assert r.status_code == 200, r.text
    job = r.json()
    assert job["state"] == "done" and statuses(job) == {"zinc.txt": "added"}
    assert job["outcomes"][0]["doc_id"] == "zinc" and job["embedded"] == job["to_embed"] > 0
    listed = client.get("/v1/documents").json()
    assert listed["total"] == 2 and {d["doc_id"] for d in listed["documents"]} == {
        "zinc",
        SEED.stem,
    }
    answer = client.post("/v1/ask", json={"question": "Quand rouvrira la mine de zinc ?"}).json()
    assert answer["answer"] == "La mine de Plouguerneau rouvrira en 2027 [1]."
    assert answer["citations"][0]["doc_id"] == "zinc"
    assert "zinc" in retrieved_docs(client, "mine de zinc Plouguerneau")

    r = client.delete("/v1/documents/zinc")
    assert r.status_code == 200 and r.json()["deleted_passages"] >= 1
    assert "zinc" not in retrieved_docs(client, "mine de zinc Plouguerneau")
    answer = client.post("/v1/ask", json={"question": "Quand rouvrira la mine de zinc ?"}).json()
    assert answer["abstained"] and answer["citations"] == []
    assert client.get("/v1/documents/zinc").status_code == 404
    assert client.delete("/v1/documents/zinc").status_code == 404
    assert client.get("/v1/documents").json()["total"] == 1


def test_same_content_is_unchanged_different_content_conflicts_put_replaces(client):
    assert upload(client, ("zinc.txt", ARTICLE.encode())).json()["outcomes"][0]["status"] == "added"
    again = upload(client, ("zinc.txt", ARTICLE.encode())).json()
    assert statuses(again) == {"zinc.txt": "unchanged"} and again["embedded"] == 0
    edited = ARTICLE.replace("2027", "2029").encode()
    conflict = upload(client, ("zinc.txt", edited)).json()
    assert conflict["outcomes"][0]["status"] == "conflict"
    assert "PUT /v1/documents/zinc" in conflict["outcomes"][0]["detail"]
    assert "2027" in client.get("/v1/documents/zinc").json()["text"]  # untouched

    r = client.put("/v1/documents/zinc", files=[("files", ("zinc.txt", edited, "text/plain"))])
    assert r.status_code == 200 and r.json()["outcomes"][0]["status"] == "updated"
    assert r.json()["embedded"] == 1  # only the changed paragraph is embedded again
    assert "2029" in client.get("/v1/documents/zinc").json()["text"]
    texts = [
        p["text"]
        for p in client.post("/v1/retrieve", json={"question": "mine zinc rouvrira"}).json()[
            "passages"
        ]
    ]
    assert any("2029" in t for t in texts) and not any("2027" in t for t in texts)


def test_json_documents(client):
    body = {"title": "Le zinc breton", "text": ARTICLE.split("\n\n", 1)[1], "keywords": ["zinc"]}
    r = client.post("/v1/documents", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["outcomes"][0] == {
        "name": "api:Le-zinc-breton",
        "status": "added",
        "doc_id": "Le-zinc-breton",
        "passages": 2,
        "embedded": 2,
        "detail": "",
    }
    assert statuses(client.post("/v1/documents", json=body).json()) == {
        "api:Le-zinc-breton": "unchanged"
    }
    doc = client.get("/v1/documents/Le-zinc-breton").json()
    assert doc["text"].startswith("Le zinc breton\nzinc\n\nLa mine") and doc["keywords"] == ["zinc"]
    named = client.post("/v1/documents", json={**body, "doc_id": "zinc-2024"})
    assert named.json()["outcomes"][0]["doc_id"] == "zinc-2024"
    r = client.put("/v1/documents/zinc-2024", json={"title": "Zinc", "text": "Nouveau texte."})
    assert r.json()["outcomes"][0]["status"] == "updated"
    for bad, reason in [
        ({"title": "", "text": "x"}, "at least 1 character"),
        ({"title": "T", "text": "   "}, "no text after the title"),
        ({"title": "T", "text": "x", "doc_id": "../etc"}, "should match pattern"),
        ({"text": "x"}, "Field required"),
    ]:
        r = client.post("/v1/documents", json=bad)
        assert r.status_code == 422 and reason in r.text, (bad, r.text)
        assert isinstance(r.json()["detail"], list)


def test_bad_files_get_a_reason_each_and_leave_the_store_unchanged(client):
    before = client.get("/healthz").json()
    bad = [
        ("empty.txt", b"  \n"),
        ("binary.txt", b"Titre\n\x00\x01\x02\x03"),
        ("latin1.txt", "Titre\n\nL’été à Montréal".encode("latin-1", "replace") + b"\xe9t\xe9"),
        ("../escape.txt", ARTICLE.encode()),
        ("notes.pdf", b"%PDF-1.4"),
        ("title-only.txt", b"Un titre sans texte\n"),
    ]
    r = upload(client, *bad)
    assert r.status_code == 422, r.text
    reasons = [e["msg"] for e in r.json()["detail"]]
    assert len(reasons) == len(bad)
    for expected, reason in zip(
        [
            "empty file",
            "NUL bytes",
            "not valid UTF-8",
            "not a plain file name",
            "unsupported file type",
            "no text after the title",
        ],
        reasons,
        strict=True,
    ):
        assert expected in reason, reasons
    # one good file among bad ones: it is added, each bad one reported, the same name twice too
    r = upload(client, ("zinc.txt", ARTICLE.encode()), ("zinc.txt", b"Autre\n\nTexte."), bad[0])
    assert r.status_code == 200
    assert [o["status"] for o in r.json()["outcomes"]] == ["error", "error", "added"]
    assert "the same file name twice" in r.json()["outcomes"][0]["detail"]
    after = client.get("/healthz").json()
    assert after["documents"] == before["documents"] + 1
    assert client.get("/v1/documents/empty").status_code == 404


def test_uploads_over_the_limit_get_413(settings):
    small = settings.changed(max_upload_mb=0.001)  # 1,000 bytes
    service = make_test_service(small)
    with TestClient(create_app(small, service)) as client:
        r = upload(client, ("big.txt", b"Titre\n\n" + b"mot " * 2000))
        assert r.status_code == 413 and "0.001 MB" in r.json()["detail"]

        def chunked():  # no Content-Length: counted as it arrives
            yield b'{"title": "T", "text": "'
            for _ in range(50):
                yield b"x" * 100
            yield b'"}'

        r = client.post(
            "/v1/documents", content=chunked(), headers={"content-type": "application/json"}
        )
        assert r.status_code == 413
        assert client.get("/healthz").json()["documents"] == 0


def test_large_uploads_return_a_job_to_poll(settings):
    lazy = settings.changed(inline_upload_kb=0)
    service = make_test_service(lazy)
    with TestClient(create_app(lazy, service)) as client:
        r = upload(client, ("zinc.txt", ARTICLE.encode()), ("seed.txt", SEED.read_bytes()))
        assert r.status_code == 202 and r.json()["state"] in ("queued", "running", "done")
        job_id = r.json()["id"]
        deadline = time.monotonic() + 30
        while (job := client.get(f"/v1/jobs/{job_id}").json())["state"] != "done":
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
        assert sorted(statuses(job).values()) == ["added", "added"] and job["documents"] == 2
        assert job["embedded"] == job["to_embed"] == client.get("/healthz").json()["passages"]
        assert client.get("/v1/jobs/nope").status_code == 404


def test_content_hash_idempotence_across_cli_and_http(settings, client):
    # the seed went in through the CLI path (the fixture); the same file uploaded is unchanged
    r = upload(client, (SEED.name, SEED.read_bytes()))
    assert statuses(r.json()) == {SEED.name: "unchanged"}
    assert client.get("/healthz").json()["documents"] == 1


def test_same_file_names_in_two_folders_and_sync(settings, tmp_path: Path):
    service = make_test_service(settings)
    a, b = tmp_path / "a", tmp_path / "b"
    for folder, year in ((a, "2027"), (b, "2031")):
        folder.mkdir()
        (folder / "zinc.txt").write_text(ARTICLE.replace("2027", year))
    first = ingest_into(service, settings, [a, b])
    ids = sorted(o.doc_id for o in first.outcomes)
    assert [o.status for o in first.outcomes] == ["added", "added"]
    assert ids[0] == "zinc" and re.fullmatch(r"zinc-[0-9a-f]{8}", ids[1])
    count = service.store.count()
    second = ingest_into(service, settings, [a, b])  # used to delete both documents' passages
    assert [o.status for o in second.outcomes] == ["unchanged", "unchanged"]
    assert sorted(o.doc_id for o in second.outcomes) == ids and service.store.count() == count

    from ingest.service import make_ingestor

    (b / "zinc.txt").unlink()
    ingestor = make_ingestor(settings, service.engines)
    synced = ingestor.ingest_paths([a, b], progress=False, sync=True)
    assert [o.status for o in synced.outcomes] == ["unchanged", "deleted"]
    assert [d.doc_id for d in service.store.documents()] == ["zinc"]
    assert service.store.count() == count // 2


def test_api_keys_protect_writes_and_optionally_reads(settings):
    key = "k-0123456789abcdef"
    locked = settings.changed(api_keys=key)
    service = make_test_service(locked, cite_zinc)
    with TestClient(create_app(locked, service)) as client:
        r = upload(client, ("zinc.txt", ARTICLE.encode()))
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        assert "an API key is required" in r.json()["detail"]
        wrong = {"Authorization": "Bearer k-wrong-wrong-wrong"}
        r = client.delete("/v1/documents/x", headers=wrong)
        assert r.status_code == 401 and r.json()["detail"] == "the API key is not valid"
        r = client.delete("/v1/documents/x", headers={"Authorization": "Basic abc"})
        assert r.status_code == 401 and "malformed" in r.json()["detail"]
        good = {"Authorization": f"Bearer {key}"}
        files = [("files", ("zinc.txt", ARTICLE.encode(), "text/plain"))]
        assert client.post("/v1/documents", files=files, headers=good).status_code == 200
        # reads stay open unless RAG_AUTH_READS
        assert client.post("/v1/ask", json={"question": "Zinc ?"}).status_code == 200
        assert client.get("/v1/documents").status_code == 200
    strict = locked.changed(auth_reads=True)
    with TestClient(create_app(strict, make_test_service(strict))) as client:
        for method, path, body in [
            ("POST", "/v1/ask", {"question": "Zinc ?"}),
            ("POST", "/v1/chat", {"messages": [{"role": "user", "content": "Zinc ?"}]}),
            ("POST", "/v1/retrieve", {"question": "Zinc ?"}),
            ("GET", "/v1/documents", None),
            ("GET", "/v1/models", None),
            ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "Zinc"}]}),
        ]:
            r = client.request(method, path, json=body)
            assert r.status_code == 401, path
            r = client.request(method, path, json=body, headers={"Authorization": f"Bearer {key}"})
            assert r.status_code == 200, (path, r.text)
        assert client.get("/healthz").status_code == 200  # liveness needs no key
        assert client.get("/").status_code == 200  # the page asks for a key itself


def test_serving_on_a_public_address_needs_keys_or_a_flag(monkeypatch, capsys):
    from api.cli import is_loopback, main
    from rag.settings import get_settings

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    get_settings.cache_clear()
    monkeypatch.delenv("RAG_API_KEYS", raising=False)
    try:
        assert main(["serve", "--host", "0.0.0.0", "--port", "1"]) == 2
    finally:
        get_settings.cache_clear()
    assert "refusing to serve on 0.0.0.0 without API keys" in capsys.readouterr().err
