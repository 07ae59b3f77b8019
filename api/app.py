"""FastAPI application: thin routers over `rag.service.AnswerService`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse

from api.schemas import AskRequest, AskResponse, DocumentInfo, DocumentText, Health
from rag.service import AnswerService, BusyError
from rag.settings import Settings, get_settings

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("api")


def get_service(request: Request) -> AnswerService:
    return request.app.state.service


ServiceDep = Annotated[AnswerService, Depends(get_service)]


def create_app(settings: Settings | None = None, service: AnswerService | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.service is None:
            from rag.components import make_service

            app.state.service = make_service(settings)
        yield

    app = FastAPI(
        title="ragkit: cited answers over news articles",
        version="0.1.0",
        description="Ask in French or English; every claim carries a numbered citation.",
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.settings = settings

    @app.exception_handler(BusyError)
    async def busy(_: Request, exc: BusyError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "5"})

    @app.get("/healthz", response_model=Health, tags=["service"])
    def healthz(service: ServiceDep) -> Health:
        return Health(
            status="ok",
            passages=service.store.count(),
            documents=len(service.store.documents()),
            llm=service.llm.metadata.model_name,
            embedder=service.retriever.embedder.name,
        )

    @app.post("/v1/ask", response_model=AskResponse, tags=["answers"])
    def ask(body: AskRequest, service: ServiceDep) -> AskResponse:
        """Answer one question from the ingested articles, with numbered citations."""
        answer = service.ask(body.question, body.top_k)
        return AskResponse(**answer.to_dict())

    @app.get("/v1/documents", response_model=list[DocumentInfo], tags=["documents"])
    def documents(service: ServiceDep) -> list[DocumentInfo]:
        return [
            DocumentInfo(
                doc_id=d.doc_id,
                title=d.title,
                keywords=list(d.keywords),
                passages=d.n_chunks,
                language=d.language,
            )
            for d in service.store.documents()
        ]

    @app.get("/v1/documents/{doc_id}", response_model=DocumentText, tags=["documents"])
    def document(doc_id: str, service: ServiceDep) -> DocumentText:
        doc = service.store.get_document(doc_id)
        if doc is None:
            raise HTTPException(404, f"no document with id {doc_id!r}")
        return DocumentText(
            doc_id=doc.doc_id,
            title=doc.title,
            keywords=list(doc.keywords),
            passages=doc.n_chunks,
            language=doc.language,
            text=doc.text,
        )

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    return app
