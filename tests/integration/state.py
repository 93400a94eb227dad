"""A chain's whole observable state, read through the public HTTP API and normalized, so that two chains
that played the same `deploy.scenario` stream compare equal, and any real difference shows.

    snap = await snapshot(chain.id, chain.key, chain.stack.urls(), plan)
    assert snap_b == snap_a, diff(snap_a, snap_b)

`snapshot(chain_id, key, urls, plan)` reads, 16 requests in flight (two per client, a dozen per chain):

- per client of `plan` (`snap["clients"][client_id]`): its memberships with their history, its cards
  with every transaction (`GET /cards/{id}`), its loyalty at `loc-1` (`GET /clients/{id}/loyalty`), and
  its notices with the number of distinct events behind them (`notice_sources`);
- `snap["others"]`: the memberships, cards (with their transactions) and notices of anyone else (a
  client outside the plan, or none: an administrator's notice), so that nothing the chain holds through
  those lists goes unseen (their loyalty is not listed by the API: not read);
- per chain: `stock` (`GET /stock`), every inventory `operation` (lines and amounts), the catalog
  (`types`, `card_types`, `promotions`, `storages`, `products`, the massage's `bills_of_materials`)
  and the settings (the chain's own `templates`; the location's loyalty `program`,
  `notification_settings`, `inventory_settings` and `deduction_policy`).

What the system generates is normalized away, so that it never tells two equal plays apart: UUID ids
(of memberships, types, cards, promotions, categories, operations, notices; a type, card type or
promotion is named by its name instead), operation numbers, transaction ids, source event ids (counted
instead; no answer read carries a chain id), and the moments taken from the clock, not from an event:
`created_at`, `issued_at`, a notice's `due_at`/`published_at`/`status_at` (`published` says whether it
went out), a desk operation's `occurred_at` (a visit's is kept), a manual card transaction's `at`, the
`at` of a freeze, unfreeze or edit in a membership's history, a loyalty program's recalculation progress.
Everything the stream decides is kept: statuses, balances, visits left, validity, every history entry
and transaction amount with its `balance_after`, stock levels, operation lines, notice texts and counts.

Collections are sorted by stable keys (memberships by code, cards by number, notices by their content,
operations by their content); a membership's history and a card's transactions keep the order the
service answers, the order they happened in (one client's events are consumed in order).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from deploy.scenario import LOCATION, MASSAGE, Plan
from tests.integration.conftest import SERVICES

Snapshot = dict[str, Any]
RETRIES = 3  # a read that failed in transport is tried again (a read changes nothing)
CLOCK_DATED_HISTORY = {"freeze", "unfreeze", "edit"}  # a membership's history entries dated by the API's clock


async def snapshot(chain_id: str, key: str, urls: Mapping[str, str], plan: Plan, *, parallel: int = 16) -> Snapshot:
    """The chain's normalized state (see the module's docstring), read with `parallel` requests in flight."""
    gate = asyncio.Semaphore(parallel)
    clients = {
        s: httpx.AsyncClient(
            base_url=f"{urls[s]}/v1/chains/{chain_id}",
            timeout=30,
            headers={"Authorization": f"Bearer {key}"},
            limits=httpx.Limits(max_connections=parallel),
        )
        for s in SERVICES
    }

    async def get(service: str, path: str, **params: Any) -> Any:
        """The answer; a list whole, page after page (X-Next-Cursor)."""
        items: list[Any] = []
        while True:
            for attempt in range(RETRIES):
                try:
                    async with gate:
                        r = await clients[service].get(path, params=params)
                    break
                except httpx.TransportError:  # e.g. a kept-alive connection the server closed meanwhile
                    if attempt == RETRIES - 1:
                        raise
            if r.status_code != 200:
                raise AssertionError(f"snapshot: GET {r.request.url} answered {r.status_code}: {r.text[:300]}")
            cursor = r.headers.get("x-next-cursor")
            if cursor is None:
                return items + r.json() if items else r.json()
            items += r.json()
            params = {**params, "cursor": cursor}

    ids = [plan.client(i)["id"] for i in range(plan.clients)]
    mine = set(ids)
    try:
        (
            types,
            archived_types,
            card_types,
            promotions,
            all_cards,
            memberships,
            chain,
            loyalty,
            all_notices,
        ) = await asyncio.gather(
            get("memberships", "/membership-types"),
            get("memberships", "/membership-types", archived="true"),
            get("loyalty", "/card-types"),
            get("loyalty", "/promotions"),
            get("loyalty", "/cards", limit=1000),
            get("memberships", "/memberships", limit=1000),
            _chain(get),
            asyncio.gather(*(get("loyalty", f"/clients/{c}/loyalty", location_id=LOCATION) for c in ids)),
            get("notifications", "/notifications", limit=1000),
        )
        cards = await asyncio.gather(*(get("loyalty", f"/cards/{card['id']}") for card in all_cards))
    finally:
        await asyncio.gather(*(c.aclose() for c in clients.values()))

    names = {t["id"]: t["name"] for t in [*types, *archived_types, *card_types, *promotions]}
    state: Snapshot = {"clients": {c: {"memberships": [], "cards": []} for c in ids}}
    others: Snapshot = {"memberships": [], "cards": [], "notices": []}
    notices: dict[str, list[dict[str, Any]]] = {c: [] for c in ids}
    for m in memberships:
        whose = state["clients"][m["client_id"]] if m["client_id"] in mine else others
        whose["memberships"].append(_membership(m, names))
    for card in cards:
        whose = state["clients"][card["client_id"]] if card["client_id"] in mine else others
        whose["cards"].append(_card(card, names))
    for n in all_notices:
        (notices[n["client_id"]] if n["client_id"] in mine else others["notices"]).append(n)
    for c, ly in zip(ids, loyalty, strict=True):
        ns = notices[c]
        entry = state["clients"][c]
        entry["memberships"].sort(key=lambda m: (m["code"] or "", m["sold_at"]))
        entry["cards"].sort(key=lambda card: card["number"])
        entry.update(
            loyalty=ly, notices=_sorted(_notice(n) for n in ns), notice_sources=len({n["source_event_id"] for n in ns})
        )
    state["others"] = {
        "memberships": _sorted(others["memberships"]),
        "cards": _sorted(others["cards"]),
        "notices": _sorted(_notice(n) for n in others["notices"]),
    }
    return {
        **state,
        **chain,
        "types": _sorted(_drop(t, "id") for t in [*types, *archived_types]),
        "card_types": _sorted(
            {
                **_drop(t, "id", "created_at"),
                "promotion_ids": sorted(names.get(i, i) for i in t.get("promotion_ids", [])),
            }
            for t in card_types
        ),
        "promotions": _sorted(
            {**_drop(p, "id", "created_at"), "card_type_ids": sorted(names.get(i, i) for i in p["card_type_ids"])}
            for p in promotions
        ),
    }


async def _chain(get: Callable[..., Awaitable[Any]]) -> Snapshot:
    """What belongs to the chain rather than to a client: stock, operations, catalog, settings."""
    (
        stock,
        operations,
        storages,
        products,
        bills,
        inventory_settings,
        templates,
        notification_settings,
        program,
        policy,
    ) = await asyncio.gather(
        get("inventory", "/stock"),
        get("inventory", "/operations"),
        get("inventory", "/storages"),
        get("inventory", "/products", all="true"),
        get("inventory", f"/services/{MASSAGE}/bill-of-materials"),
        get("inventory", f"/locations/{LOCATION}/inventory-settings"),
        get("notifications", "/templates"),
        get("notifications", f"/locations/{LOCATION}/notification-settings"),
        get("loyalty", f"/locations/{LOCATION}/loyalty-program"),
        get("memberships", f"/locations/{LOCATION}/deduction-policy"),
    )
    return {
        "stock": sorted(stock, key=lambda s: (s["storage_id"], s["product_id"])),
        "operations": _sorted(_operation(op) for op in operations),
        "storages": _sorted(storages),
        "products": _sorted(_product(p) for p in products),
        "bills_of_materials": _sorted(bills),
        "inventory_settings": inventory_settings,
        "templates": {t["type"]: t["texts"] for t in templates if t["texts"]},
        "notification_settings": notification_settings,
        "program": _drop(program, "recalculation"),
        "deduction_policy": policy,
    }


def _membership(m: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    history = [_drop(h, "at") if h["kind"] in CLOCK_DATED_HISTORY else h for h in m["history"] or []]
    return {**_drop(m, "id", "type_id"), "type": names.get(m["type_id"], m["type_id"]), "history": history}


def _card(card: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    def transaction(t: dict[str, Any]) -> dict[str, Any]:
        promotion = names.get(t["promotion_id"] or "")
        return {**_drop(t, "id", "promotion_id", *(("at",) if t["kind"] == "manual" else ())), "promotion": promotion}

    def points(p: dict[str, Any]) -> dict[str, Any]:  # a lot of no promotion (manual) is dated by the clock
        return {
            **_drop(p, "promotion_id", *(() if p["promotion_id"] else ("accrued_at",))),
            "promotion": names.get(p["promotion_id"] or ""),
        }

    return {
        **_drop(card, "id", "card_type_id", "issued_at"),
        "type": names.get(card["card_type_id"]),
        "transactions": [transaction(t) for t in card.get("transactions") or []],
        "points": [points(p) for p in card.get("points") or []],
    }


def _notice(n: dict[str, Any]) -> dict[str, Any]:
    return {
        **_drop(n, "id", "source_event_id", "created_at", "due_at", "published_at", "status_at"),
        "published": n["published_at"] is not None,
    }


def _operation(op: dict[str, Any]) -> dict[str, Any]:
    from_visit = op["source"].startswith("visit:")  # dated by its event; a desk operation by the clock
    return _drop(op, "id", "number", *(() if from_visit else ("occurred_at",)))


def _product(p: dict[str, Any]) -> dict[str, Any]:
    if p["kind"] == "membership":  # its id and type id are the chain's own UUIDs: named by the type's name
        return {**_drop(p, "id", "membership_type_id", "category_id"), "id": f"membership:{p['name']}"}
    if p["kind"] == "gift_card":  # the same, for a gift card type's product
        return {**_drop(p, "id", "gift_card_type_id", "category_id"), "id": f"gift_card:{p['name']}"}
    return _drop(p, "category_id")


def _drop(d: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in keys}


def _sorted(items: Any) -> list[Any]:
    return sorted(items, key=lambda x: json.dumps(x, sort_keys=True))


# --- reading snapshots -------------------------------------------------------------------------------


def totals(snap: Snapshot) -> dict[str, int]:
    """Counts that say how much a chain has done: deductions, card transactions per kind, notices,
    operations from visits (what a test waits for, and what proves a snapshot is not trivial)."""
    counts = {
        "deductions": 0,
        "accrual": 0,
        "spend": 0,
        "manual": 0,
        "burn": 0,
        "notices": 0,
        "visit_operations": sum(op["source"].startswith("visit:") for op in snap["operations"]),
    }
    for c in snap["clients"].values():
        counts["deductions"] += sum(h["kind"] == "deduction" for m in c["memberships"] for h in m["history"])
        counts["notices"] += len(c["notices"])
        for card in c["cards"]:
            for t in card["transactions"]:
                counts[t["kind"]] = counts.get(t["kind"], 0) + 1
    return counts


def diff(a: Any, b: Any, path: str = "", most: int = 20) -> list[str]:
    """Where two snapshots differ, as `path: a != b` lines (the first `most`): an assertion message that
    names the balance or notice that differs instead of printing two whole snapshots."""
    found: list[str] = []

    def walk(x: Any, y: Any, at: str) -> None:
        if len(found) >= most or x == y:
            return
        if isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(x.keys() | y.keys()):
                walk(x.get(k, "<missing>"), y.get(k, "<missing>"), f"{at}.{k}" if at else str(k))
        elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            for i, (u, v) in enumerate(zip(x, y, strict=True)):
                walk(u, v, f"{at}[{i}]")
        else:
            found.append(f"{at}: {_short(x)} != {_short(y)}")

    walk(a, b, path)
    return found


def _short(x: Any) -> str:
    text = json.dumps(x, sort_keys=True, default=str)
    return text if len(text) <= 300 else f"{text[:300]}... ({len(x) if isinstance(x, list | dict) else ''})"


async def settled(
    take: Callable[[], Awaitable[Snapshot]],
    ready: Callable[[Snapshot], bool],
    *,
    timeout: float = 60,
    poll: float = 0.5,
    what: str = "the chain",
) -> Snapshot:
    """Takes snapshots (`poll` seconds apart) until `ready` accepts one and the next one is the same: every
    consumer and relay is done with what was published (the effects of Kafka events come asynchronously).
    Each snapshot costs the services some work: wait for a cheap sign of progress first where one exists."""
    deadline = time.monotonic() + timeout
    last: Snapshot | None = None
    while True:
        snap = await take()
        if snap == last and ready(snap):
            return snap
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not settled within {timeout}s; totals now {totals(snap)}")
        last = snap
        await asyncio.sleep(poll)
