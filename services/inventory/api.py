"""HTTP routes of the inventory service (under /v1/chains/{chain_id}): routing only."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, BaseModel

from services.inventory import usecases
from shared.auth import ChainId

router = APIRouter(tags=["inventory"])


class OperationOut(BaseModel):
    id: uuid.UUID
    number: int
    type: str
    location_id: str | None
    storage_id: str | None
    source: str
    lines: list[dict[str, Any]]
    occurred_at: datetime


@router.get("/operations", response_model=list[OperationOut])
async def list_operations(
    chain_id: ChainId, request: Request,
    type: Literal["arrival", "sale", "write_off", "relocation"] | None = None,
    start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
) -> list[OperationOut]:
    async with request.app.state.pool.acquire() as conn:
        rows = await usecases.list_operations(conn, chain_id, type, start, end)
    return [OperationOut.model_validate(dict(r)) for r in rows]
