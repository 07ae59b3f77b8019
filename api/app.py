"""FastAPI application: thin routers over two services, answering (rag.service.AnswerService)
and ingestion (ingest.service.IngestionService)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from api import documents, feeds, openai_compat, routes
from api.deps import key_digests
from api.middleware import BodyLimit, WorkerHeader
from api.schemas import encodable
from rag.gate import BusyError
from rag.service import AnswerService
from rag.settings import Settings, get_settings

STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None, service: AnswerService | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from ingest.service import IngestionService

        if app.state.service is None:  # load the models once, before the first request
            from rag.components import make_service

            app.state.service = make_service(settings)
            app.state.service.warm_up()
        app.state.ingestion = IngestionService(settings, app.state.service.engines)
        app.state.ingestion.start()
        yield
        app.state.ingestion.stop()

    app = FastAPI(
        title="ragkit: cited answers over news articles",
        version="0.2.0",
        description="Ask in French or English; every claim carries a numbered citation to the "
        "passage it comes from. Chat page at `/`.",
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.settings = settings
    app.state.key_digests = key_digests(settings.serve)
    app.add_middleware(BodyLimit, upload_bytes=int(settings.serve.max_upload_mb * 1_000_000))
    app.add_middleware(WorkerHeader)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own 422, but a lone surrogate in the echoed input would make it a 500
        return JSONResponse({"detail": encodable(jsonable_encoder(exc.errors()))}, 422)

    @app.exception_handler(BusyError)
    async def busy(_: Request, exc: BusyError) -> JSONResponse:
        return JSONResponse(
            {
                "detail": str(exc),
                "retry_after": exc.retry_after,
                "queue": {"running": exc.running, "waiting": exc.waiting},
            },
            status_code=503,
            headers={"Retry-After": str(exc.retry_after)},
        )

    app.include_router(routes.health_router)
    app.include_router(routes.router)
    app.include_router(documents.router)
    app.include_router(feeds.router)
    app.include_router(openai_compat.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    return app
