"""HTTP routes of the loyalty service (under /v1/chains/{chain_id}): routing only."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from services.loyalty import usecases
from shared.auth import ChainId
from shared.events import Money

router = APIRouter(tags=["loyalty"])


class ClientLoyaltyOut(BaseModel):
    client_id: str
    location_id: str | None
    discount_percent: Money
    level: str | None
    categories: list[str]
    sold: Money
    paid: Money
    visits: int
    last_visit_at: datetime | None


@router.get("/clients/{client_id}/loyalty", response_model=ClientLoyaltyOut)
async def client_loyalty(chain_id: ChainId, client_id: str, request: Request,
                         location_id: Annotated[str | None, Query(max_length=128)] = None) -> ClientLoyaltyOut:
    async with request.app.state.pool.acquire() as conn:
        stats = await usecases.client_loyalty(conn, chain_id, client_id, location_id)
    # The location program (discount, level, categories) comes with the loyalty issue; until then a
    # client has none, and the statistics behind them are already kept.
    return ClientLoyaltyOut(client_id=client_id, location_id=location_id, discount_percent=0, level=None,  # type: ignore[arg-type]
                            categories=[], sold=stats.sold, paid=stats.paid, visits=stats.visits,
                            last_visit_at=stats.last_visit_at)
