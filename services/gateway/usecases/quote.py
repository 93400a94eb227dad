"""The checkout quote: the parts asked of memberships, loyalty and the wallet in parallel (one shared HTTP
client per process, the caller's Authorization forwarded: each service authenticates it as any call), then
composed (domain/quote.py). A part that fails, answers an error or takes longer than
QUOTE_PART_TIMEOUT_SECONDS is reported unavailable; the quote is answered all the same.

Loyalty's cashback is earned on what the lines are paid, and a line a membership pays is paid 0. Loyalty
answers the cashback with no line covered and, beside it, with every service line covered (the usual
membership visit); when the memberships part covers another set of lines, loyalty is asked once more with
those (`covered_lines`), after the parallel round."""

from __future__ import annotations

import asyncio
import time
from typing import TypeVar

import aiohttp
import structlog
from pydantic import BaseModel, ValidationError

from services.gateway.domain.quote import compose
from shared import metrics
from shared.events import utcnow
from shared.quote import LoyaltyPart, MembershipsPart, QuoteIn, QuoteOut, QuotePartIn, Unavailable, WalletPart
from shared.settings import Settings

log = structlog.get_logger("gateway")
P = TypeVar("P", bound=BaseModel)


class QuoteParts:
    """The services a quote asks, and the one HTTP client (its connections kept alive) it asks them with.

    aiohttp, not httpx, here: the fan-out is the gateway's hot path, and httpx cost about 4 ms of CPU a
    quote (three requests), half the gateway's, most of it in httpcore's pool checking every pooled
    connection's socket on each request (encode/httpcore#928, open); aiohttp's C parser and connector do
    the same for a fraction."""

    def __init__(self, settings: Settings) -> None:
        self.urls = {
            "memberships": settings.memberships_url.rstrip("/"),
            "loyalty": settings.loyalty_url.rstrip("/"),
            "wallet": settings.wallet_url.rstrip("/"),
        }
        self.timeout = settings.quote_part_timeout_seconds
        self._http: aiohttp.ClientSession | None = None

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None:  # made in the process's event loop, on the first quote
            self._http = aiohttp.ClientSession(
                # `ask` bounds each part's whole exchange itself (asyncio.timeout): one clock, not two.
                connector=aiohttp.TCPConnector(limit=200, limit_per_host=0, keepalive_timeout=30),
                cookie_jar=aiohttp.DummyCookieJar(),  # a part sets none; none is kept between callers
                skip_auto_headers=("User-Agent",),
            )
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def ask(
        self, service: str, model: type[P], chain_id: str, body: QuotePartIn, authorization: str
    ) -> P | Unavailable:
        began = time.perf_counter()
        answer = await self._ask(service, model, chain_id, body, authorization)
        outcome = "unavailable" if isinstance(answer, Unavailable) else "ok"
        metrics.QUOTE_PARTS.labels(service, outcome).observe(time.perf_counter() - began)
        return answer

    async def _ask(
        self, service: str, model: type[P], chain_id: str, body: QuotePartIn, authorization: str
    ) -> P | Unavailable:
        url = f"{self.urls[service]}/v1/chains/{chain_id}/checkout/quote-part"
        try:
            async with asyncio.timeout(self.timeout):
                async with self.http.post(
                    url,
                    data=body.model_dump_json(),
                    headers={"Authorization": authorization, "Content-Type": "application/json"},
                ) as r:
                    status, content = r.status, await r.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("quote_part_unavailable", service=service, chain_id=chain_id, error=type(exc).__name__)
            return Unavailable(reason=f"the {service} service did not answer within {self.timeout} s")
        if status != 200:
            log.warning("quote_part_unavailable", service=service, chain_id=chain_id, status=status)
            return Unavailable(reason=f"the {service} service answered {status}")
        try:
            return model.model_validate_json(content)
        except ValidationError:
            log.warning("quote_part_unavailable", service=service, chain_id=chain_id, error="invalid_answer")
            return Unavailable(reason=f"the {service} service's answer was not a quote part")


async def quote(parts: QuoteParts, chain_id: str, q: QuoteIn, authorization: str) -> QuoteOut:
    body = QuotePartIn.model_validate({**q.model_dump(), "occurred_at": q.occurred_at or utcnow()})
    memberships, loyalty, wallet = await asyncio.gather(
        parts.ask("memberships", MembershipsPart, chain_id, body, authorization),
        parts.ask("loyalty", LoyaltyPart, chain_id, body, authorization),
        parts.ask("wallet", WalletPart, chain_id, body, authorization),
    )
    covered = [x.line for x in memberships.lines if x.covered] if isinstance(memberships, MembershipsPart) else []
    if covered and isinstance(loyalty, LoyaltyPart):
        variant = loyalty.if_service_lines_covered
        if variant is not None and variant.covered_lines == covered:  # computed already: no second round
            loyalty = loyalty.model_copy(
                update={"cashback": variant.cashback, "cashback_total": variant.cashback_total}
            )
        else:
            again = body.model_copy(update={"covered_lines": covered})
            loyalty = await parts.ask("loyalty", LoyaltyPart, chain_id, again, authorization)
    return compose(chain_id, body, memberships, loyalty, wallet)
