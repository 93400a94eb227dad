"""The checkout quote's route (under /v1/chains/{chain_id}): routing only."""

from typing import Annotated

from fastapi import APIRouter, Header, Request

from services.gateway import usecases
from shared.auth import ReadChainId
from shared.quote import QuoteIn, QuoteOut

router = APIRouter(tags=["checkout"])


@router.post(
    "/checkout/quote",
    response_model=QuoteOut,
    summary="What a client could use on a visit about to be paid, and what it would cost; changes nothing",
    description="Asks memberships, loyalty and the wallet for their parts in parallel and composes them: per "
    "line the membership that would pay it (and why the others would not) or the discount it would get (and "
    "the offers it qualified for), the bonus points and stored value the client could pay with, the cashback "
    "the visit would earn, and the totals; every number with a code and its reason. A part that fails or is "
    'late is answered `{"available": false, "code": "part_unavailable"}`. Needs a key with the `read` scope.',
)
async def checkout_quote(
    chain_id: ReadChainId,
    body: QuoteIn,
    request: Request,
    authorization: Annotated[str | None, Header(max_length=4096, include_in_schema=False)] = None,
) -> QuoteOut:
    # The key ReadChainId has just authenticated: each part authenticates it again, as any call.
    return await usecases.quote(request.app.state.quote_parts, chain_id, body, authorization or "")
