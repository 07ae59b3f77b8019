"""Fuzz every endpoint from the service's own OpenAPI schema with schemathesis (the scripted
LLM and the hashing embedder behind a real uvicorn server): no 5xx, and every status code,
content type and body as documented.

Schemathesis never sends a lone UTF-16 surrogate: its strings are drawn with
`st.characters(codec="utf-8")` (or, with no codec, excluding category Cs), so a JSON string such
as `"\\ud800"` is never generated; tests/test_odd_characters.py sends those (and NUL and other
odd code points) into every string field of every JSON body."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import LiveServer

pytestmark = pytest.mark.slow  # a server fuzzed over every endpoint

ST = Path(sys.executable).parent / "st"
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)


@pytest.mark.skipif(not ST.exists() and not shutil.which("st"), reason="schemathesis not installed")
def test_schemathesis_finds_no_server_error_and_no_contract_violation(tmp_path: Path):
    env = {"RAG_EMBEDDER": "hashing", "RAG_LLM": "scripted", "RAG_LOG_LEVEL": "warning"}
    server = LiveServer(tmp_path / "data", env=env).wait_ready()
    try:
        run = subprocess.run(
            [
                str(ST if ST.exists() else shutil.which("st")),
                "run",
                f"{server.url}/openapi.json",
                "--checks",
                CHECKS,
                "--max-examples",
                "40",
                "--seed",
                "20261129",
                "--workers",
                "1",
                "--request-timeout",
                "60",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=1200,
            cwd=tmp_path,  # schemathesis keeps its example database in the working directory
        )
        log = server.log()
    finally:
        server.stop()
    summary = run.stdout[run.stdout.rfind("SUMMARY") :]
    print(summary)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "generated" in summary and " 0 passed" not in summary
    assert "Traceback" not in log, log[-4000:]
