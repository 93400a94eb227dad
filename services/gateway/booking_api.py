"""The booking system's REST API (Altegio and YCLIENTS: one backend), as far as the gateway needs it to
complete what a webhook leaves out: a visit's loyalty transactions (which service was paid with which
membership), a service's category, a product's membership type, a membership's number and type.

A client per connection: bounded timeouts (5 s to connect, 10 s in all), retries with backoff on what a
retry can fix (transport errors, 429 with its Retry-After, 5xx; three attempts), the API's published rate
limit respected (YCLIENTS: 5 requests a second; aiolimiter), and a circuit breaker: after 5 failures in a
row every call fails at once for 30 s, so an API that is down costs the worker nothing but a wait
(the delivery is tried again later; `ApiDown`)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import structlog
from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

log = structlog.get_logger("booking_api")
ACCEPT = "application/vnd.yclients.v2+json"


class ApiDown(Exception):
    """The booking system's API could not answer now (down, slow, refusing, breaker open): try later."""


class ApiRefused(Exception):
    """The API answered for good that it will not give this (404, 401, 403...): a retry will not help."""


class _Retryable(Exception):
    pass


class Breaker:
    """Open after `threshold` failures in a row; closed again by the first success after `cooldown`."""

    def __init__(self, threshold: int = 5, cooldown: float = 30.0) -> None:
        self.threshold, self.cooldown = threshold, cooldown
        self.failures = 0
        self.opened_at: float | None = None

    def allow(self) -> bool:
        return self.opened_at is None or time.monotonic() - self.opened_at >= self.cooldown

    def success(self) -> None:
        self.failures, self.opened_at = 0, None

    def failure(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            self.opened_at = time.monotonic()


class BookingApi:
    def __init__(
        self,
        base_url: str,
        partner_token: str,
        user_token: str,
        *,
        rate_per_second: float = 5,
        attempts: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            transport=transport,
            timeout=httpx.Timeout(10.0, connect=5.0),
            headers={
                "Accept": ACCEPT,
                "Content-Type": "application/json",
                "Authorization": f"Bearer {partner_token}, User {user_token}",
            },
        )
        self.limiter = AsyncLimiter(rate_per_second, 1)
        self.breaker = Breaker()
        self.attempts = attempts

    async def close(self) -> None:
        await self.http.aclose()

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """The `data` of a GET; ApiDown when it cannot be had now, ApiRefused when it cannot be had."""
        if not self.breaker.allow():
            raise ApiDown("the booking system's API failed repeatedly; waiting before trying it again")
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.attempts),
                reraise=True,
                retry=retry_if_exception(lambda e: isinstance(e, _Retryable)),
                wait=wait_exponential(multiplier=0.5, max=5),
            ):
                with attempt:
                    data = await self._get_once(path, params)
        except _Retryable as exc:
            self.breaker.failure()
            log.warning("booking_api_down", path=_shape(path), error=str(exc))
            raise ApiDown(str(exc)) from exc
        self.breaker.success()
        return data

    async def _get_once(self, path: str, params: dict[str, Any] | None) -> Any:
        async with self.limiter:
            try:
                r = await self.http.get(path, params=params)
            except httpx.TransportError as exc:
                raise _Retryable(f"{type(exc).__name__}") from exc
        if r.status_code == 429 or r.status_code >= 500:
            await asyncio.sleep(_retry_after(r))  # 429: as long as it asks (at most 10 s)
            raise _Retryable(f"HTTP {r.status_code}")
        if r.status_code >= 400:
            raise ApiRefused(f"HTTP {r.status_code} for {_shape(path)}")
        try:
            body = r.json()
        except ValueError as exc:
            raise _Retryable("an answer that is not JSON") from exc
        if isinstance(body, dict) and "data" in body:
            if body.get("success") is False:
                raise ApiRefused(f"success false for {_shape(path)}")
            return body["data"]
        return body

    # --- what the gateway asks -----------------------------------------------------------------------

    async def visit_details(self, company_id: int, record_id: int, visit_id: int) -> dict[str, Any]:
        data = await self.get(f"/api/v1/visit/details/{company_id}/{record_id}/{visit_id}")
        return data if isinstance(data, dict) else {}

    async def service(self, company_id: int, service_id: int) -> dict[str, Any]:
        data = await self.get(f"/api/v1/company/{company_id}/services/{service_id}")
        return data if isinstance(data, dict) else {}

    async def good(self, company_id: int, good_id: int) -> dict[str, Any]:
        data = await self.get(f"/api/v1/goods/{company_id}/{good_id}")
        return data if isinstance(data, dict) else {}

    async def abonements(self, booking_chain_id: int, ids: list[int]) -> list[dict[str, Any]]:
        data = await self.get(
            f"/api/v1/chain/{booking_chain_id}/loyalty/abonements", {"abonements_ids[]": ids, "count": max(len(ids), 1)}
        )
        return [a for a in data if isinstance(a, dict)] if isinstance(data, list) else []

    async def records(
        self, company_id: int, changed_after: str, changed_before: str, page: int, count: int
    ) -> list[dict[str, Any]]:
        """A page of a branch's records changed in a period (deleted ones too), as the record webhook's `data`."""
        data = await self.get(
            f"/api/v1/records/{company_id}",
            {
                "changed_after": changed_after,
                "changed_before": changed_before,
                "with_deleted": 1,
                "page": page,
                "count": count,
            },
        )
        return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []

    async def client_abonements(self, company_id: int, phone: str) -> list[dict[str, Any]]:
        data = await self.get("/api/v1/loyalty/abonements/", {"company_id": company_id, "phone": phone.lstrip("+")})
        return [a for a in data if isinstance(a, dict)] if isinstance(data, list) else []


def _retry_after(r: httpx.Response) -> float:
    try:
        return min(float(r.headers.get("Retry-After", "0")), 10.0)
    except ValueError:
        return 0.0


def _shape(path: str) -> str:
    """A path without its ids (a log line never carries a client's phone or an id list)."""
    return "/".join("N" if part.isdigit() else part for part in path.split("?")[0].split("/"))
