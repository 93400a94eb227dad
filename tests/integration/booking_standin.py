"""A stand-in for the Altegio / YCLIENTS REST API (the one stand-in the suite allows: the real API is a
third party's, unreachable from here). It serves the documented response shapes (developers.yclients.com,
mirrored in vosarsen/ai_admin_v2 docs/01-architecture/integrations/YCLIENTS_API.md): `{"success": true,
"data": ..., "meta": ...}`, for the four calls the gateway makes, from what a test puts in it; it can be
made to fail (503) to play an API that is down. It lives in the tests, never in the product."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from deploy import local


@dataclass
class BookingApiStandIn:
    url: str = ""
    down: bool = False
    services: dict[int, dict[str, Any]] = field(default_factory=dict)  # service id -> its catalogue entry
    goods: dict[int, dict[str, Any]] = field(default_factory=dict)  # good id -> its catalogue entry
    visits: dict[tuple[int, int], list[dict[str, Any]]] = field(default_factory=dict)  # (record, visit) -> loyalty tx
    abonements: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # phone digits -> memberships
    records: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # company -> its records (backfill)
    calls: list[str] = field(default_factory=list)
    authorizations: set[str] = field(default_factory=set)

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        if self.down:
            return 503, {"success": False, "meta": {"message": "down"}}
        if m := re.fullmatch(r"/api/v1/visit/details/(\d+)/(\d+)/(\d+)", path):
            tx = self.visits.get((int(m[2]), int(m[3])), [])
            return 200, {
                "success": True,
                "data": {
                    "payment_transactions": [],
                    "loyalty_transactions": tx,
                    "kkm_transaction_details_container": {},
                    "items": [],
                },
                "meta": [],
            }
        if m := re.fullmatch(r"/api/v1/company/(\d+)/services/(\d+)", path):
            found = self.services.get(int(m[2]))
            return (200, {"success": True, "data": found, "meta": []}) if found else (404, {"success": False})
        if m := re.fullmatch(r"/api/v1/goods/(\d+)/(\d+)", path):
            found = self.goods.get(int(m[2]))
            return (200, {"success": True, "data": found, "meta": []}) if found else (404, {"success": False})
        if m := re.fullmatch(r"/api/v1/records/(\d+)", path):
            page, count = int(query.get("page", ["1"])[0]), int(query.get("count", ["50"])[0])
            found = self.records.get(int(m[1]), [])
            return 200, {
                "success": True,
                "data": found[(page - 1) * count : page * count],
                "meta": {"page": page, "total_count": len(found)},
            }
        if path.rstrip("/") == "/api/v1/loyalty/abonements":
            phone = "".join(ch for ch in (query.get("phone") or [""])[0] if ch.isdigit())
            return 200, {"success": True, "data": self.abonements.get(phone, []), "meta": {"count": 0}}
        return 404, {"success": False, "meta": {"message": "not found"}}


@contextmanager
def booking_api() -> Iterator[BookingApiStandIn]:
    standin = BookingApiStandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            standin.calls.append(parts.path)
            standin.authorizations.add(self.headers.get("Authorization", ""))
            status, body = standin.answer(parts.path, parse_qs(parts.query))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", local.free_port()), Handler)
    standin.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()
