"""HTTP routes of the notifications service (under /v1/chains/{chain_id}): routing only."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from services.notifications import usecases
from shared.auth import ChainId

router = APIRouter(tags=["notifications"])
NoticeStatus = Literal["queued", "sent", "delivered", "failed", "skipped"]


class NoticeOut(BaseModel):
    id: uuid.UUID
    location_id: str | None
    client_id: str
    channel: str
    type: str
    recipient: str | None
    text: str
    locale: str
    encoding: str | None
    segments: int | None
    source_event_id: str
    status: str
    reason: str | None
    created_at: datetime | None


@router.get("/notifications", response_model=list[NoticeOut])
async def list_notifications(
    chain_id: ChainId, request: Request,
    client_id: Annotated[str | None, Query(max_length=128)] = None,
    status: NoticeStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[NoticeOut]:
    async with request.app.state.pool.acquire() as conn:
        rows = await usecases.list_notices(conn, chain_id, client_id, status, limit)
    return [NoticeOut.model_validate(r, from_attributes=True) for r in rows]
