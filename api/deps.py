"""Dependency aliases (FastAPI full-stack template style)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rag.service import AnswerService
from rag.settings import Settings


def get_service(request: Request) -> AnswerService:
    return request.app.state.service


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


ServiceDep = Annotated[AnswerService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
