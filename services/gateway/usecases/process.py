"""The deliveries stored by the receiver, applied in the background: a batch of due ones (oldest first,
locked so replicas share the work), their connections and the records they touch loaded at once, each
delivery decided (domain/webhooks.py, domain/mapping.py) and what the webhook lacks fetched from the
booking system's API, then the events, the records' new state and each delivery's outcome saved in one
transaction.

A delivery ends `applied` (its events are in the outbox), `ignored` (nothing to do: a resource we do not
map, a stale snapshot, a record without a client), `kept` (it cannot be applied as it is: an unknown
company, an unmapped membership type, the API refusing; replayable after the fix) or `waiting` (the API is
down: tried again later with backoff, for ever, so nothing is lost)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import structlog
from pydantic import ValidationError

from services.gateway import webhook_repository as repo
from services.gateway.booking_api import ApiDown, ApiRefused, BookingApi
from services.gateway.domain import mapping
from services.gateway.domain.webhooks import (
    Envelope,
    Kind,
    Outcome,
    Record,
    RecordState,
    Unreadable,
    envelope,
    goods_sale,
    integer,
    record,
    transitions,
    without,
)
from services.gateway.usecases import lookups
from shared import phones
from shared.consumer.records import describe
from shared.events import MembershipSold, VisitCancelled, VisitPaid, VisitStatus
from shared.events.base import Model
from shared.metrics import GATEWAY_DELIVERIES
from shared.uow import UnitOfWork

log = structlog.get_logger("gateway")
BATCH = 50
MAX_WAIT_SECONDS = 600
MODELS: dict[str, type[Model]] = {
    "visit.status_arrived": VisitStatus,
    "visit.status_no_show": VisitStatus,
    "visit.cancelled": VisitCancelled,
    "visit.paid": VisitPaid,
    "membership.sold": MembershipSold,
}
RecordKey = tuple[str, str, int, int]


class Keep(Exception):
    """This delivery cannot be applied as it is (the reason); replayable once fixed."""


@dataclass
class Batch:
    """What one batch shares: the records' states (as the batch changes them), the APIs, the catalogue
    read meanwhile, the outbox."""

    uow: UnitOfWork
    apis: dict[Any, BookingApi]
    now: datetime
    states: dict[RecordKey, RecordState] = field(default_factory=dict)
    changed: set[RecordKey] = field(default_factory=set)
    fetched: dict[tuple[uuid.UUID, int, str], dict[int, dict[str, Any]]] = field(default_factory=dict)


async def process_batch(pool: asyncpg.Pool, apis: dict[Any, BookingApi], limit: int = BATCH) -> int:
    """One batch of due deliveries; answers how many it took."""
    async with pool.acquire() as conn, conn.transaction():
        due = await repo.take_due(conn, limit)
        if not due:
            return 0
        connections = await repo.for_work(conn, [d.connection_id for d in due])
        batch = Batch(UnitOfWork(conn), apis, datetime.now(UTC))
        parsed = [_parse(d, connections[d.connection_id]) for d in due]
        batch.states = await repo.record_states(conn, {k for _, _, k in parsed if k is not None})
        outcomes = []
        for d, (env, rec, _), c in zip(due, parsed, (connections[d.connection_id] for d in due), strict=True):
            state, reason, wait = await _apply(batch, d, c, env, rec)
            outcomes.append((d.id, state, reason, wait))
            GATEWAY_DELIVERIES.labels(d.resource or "unknown", state).inc()
        await repo.save_records(conn, {k: batch.states[k] for k in batch.changed})
        for (cid, company, kind), items in batch.fetched.items():
            await repo.remember(conn, cid, company, kind, items)
        await repo.finish(conn, outcomes)
        await batch.uow.flush()
    return len(due)


def _parse(d: repo.Delivery, c: asyncpg.Record) -> tuple[Envelope | None, Record | Exception | None, RecordKey | None]:
    try:
        env = envelope(json.loads(d.body))
    except (Unreadable, ValueError) as exc:
        return None, exc, None
    if env.resource != "record":
        return env, None, None
    zone = _zone(c, env.company_id)
    if zone is None:
        return env, None, None
    try:
        rec = record(env, zone)
    except Unreadable as exc:
        return env, exc, None
    return env, rec, (d.chain_id, c["system"], env.company_id, rec.id)


def _zone(c: asyncpg.Record, company_id: int) -> ZoneInfo | None:
    place = _location(c, company_id)
    return ZoneInfo(place["time_zone"]) if place else None


def _location(c: asyncpg.Record, company_id: int) -> dict[str, Any] | None:
    return next((x for x in c["locations"] if x["company_id"] == company_id), None)


async def _apply(
    batch: Batch, d: repo.Delivery, c: asyncpg.Record, env: Envelope | None, rec: Record | Exception | None
) -> tuple[str, str | None, float]:
    """(state, reason, seconds to wait) of one delivery."""
    try:
        if env is None:
            raise Keep(f"unreadable: {rec}")
        place = _location(c, env.company_id)
        if place is None:
            raise Keep(f"unknown_company: company {env.company_id} is not mapped to a location of this connection")
        if isinstance(rec, Exception):
            raise Keep(f"unreadable: {rec}")
        if env.resource == "record" and rec is not None:
            return await _record(batch, d, c, env, rec, place)
        if env.resource == "goods_operations_sale" and env.status != "delete":
            return await _goods_sale(batch, d, c, env, place)
        return "ignored", f"not_mapped: {env.resource} {env.status} causes no event", 0
    except Keep as exc:
        return "kept", str(exc)[:1000], 0
    except ApiDown as exc:
        wait = min(2 ** min(d.attempts, 10) * 5, MAX_WAIT_SECONDS)
        return "waiting", f"api_down: {exc}"[:1000], wait


async def _record(
    batch: Batch, d: repo.Delivery, c: asyncpg.Record, env: Envelope, rec: Record, place: dict[str, Any]
) -> tuple[str, str | None, float]:
    if rec.client is None:
        return "ignored", "no_client: a record without a client (a walk-in) causes no event", 0
    key: RecordKey = (d.chain_id, c["system"], env.company_id, rec.id)
    outcome: Outcome = transitions(batch.states.get(key), rec)
    if outcome.stale:
        return "ignored", "stale: a newer snapshot of this record was applied", 0
    phone = _phone(rec.client.phone, d.chain_id, place["location_id"])
    made: list[Kind] = []
    failure: Exception | None = None
    for kind in outcome.emit:
        try:
            event = (
                await _paid(batch, c, env, rec, place, phone)
                if kind == "paid"
                else mapping.status_event(
                    c["system"], env.company_id, place["location_id"], rec, kind, phone, batch.now
                )
            )
            _publish(batch, d.chain_id, mapping.TOPIC_OF[kind], event)
        except (ApiDown, Keep) as exc:
            failure = exc  # what came before it is sent; it and what follows wait, or are kept
            break
        made.append(kind)
    batch.states[key] = without(outcome.state, set(outcome.emit) - set(made))
    batch.changed.add(key)
    if failure is not None:
        raise failure
    return ("applied", None, 0) if made else ("ignored", "no_change: nothing this record says is new", 0)


async def _paid(
    batch: Batch, c: asyncpg.Record, env: Envelope, rec: Record, place: dict[str, Any], phone: str | None
) -> dict[str, Any]:
    api = lookups.api_of(batch, c)
    try:
        services = await lookups.catalogue(
            batch, api, c, env.company_id, "service", {s.service_id for s in rec.services}
        )
        transactions = []
        if rec.visit_id:
            details = await api.visit_details(env.company_id, rec.id, rec.visit_id)
            transactions = [t for t in details.get("loyalty_transactions") or [] if isinstance(t, dict)]
        paid_with = mapping.paid_by_membership(rec, transactions)
        codes = await lookups.codes(api, env.company_id, phone, set(paid_with.values())) if paid_with else {}
    except ApiRefused as exc:
        raise Keep(f"api_refused: {exc}") from exc
    missing = {a for a in paid_with.values() if a not in codes}
    if missing:
        raise Keep(f"unknown_membership: the API does not show membership {sorted(missing)[0]} of this client")
    categories = {sid: mapping.text(s.get("category_id")) for sid, s in services.items()}
    return mapping.paid_event(
        c["system"],
        env.company_id,
        place["location_id"],
        rec,
        phone,
        batch.now,
        categories,
        {sid: codes[a]["code"] for sid, a in paid_with.items()},
    )


async def _goods_sale(
    batch: Batch, d: repo.Delivery, c: asyncpg.Record, env: Envelope, place: dict[str, Any]
) -> tuple[str, str | None, float]:
    if integer(env.data.get("type_id")) not in (None, 1):
        return "ignored", "not_a_sale: a goods operation that is no sale", 0
    try:
        sale = goods_sale(env, ZoneInfo(place["time_zone"]))
    except Unreadable as exc:
        raise Keep(f"unreadable: {exc}") from exc
    api = lookups.api_of(batch, c)
    try:
        good = (await lookups.catalogue(batch, api, c, env.company_id, "good", {sale.good_id})).get(sale.good_id, {})
        their_type = integer(good.get("loyalty_abonement_type_id")) or None
        if their_type is None and sale.abonement_id is None:
            return "ignored", "not_a_membership: a product that is no membership", 0
        if sale.client is None:
            raise Keep("no_client: a membership sold without a client cannot be issued")
        phone = _phone(sale.client.phone, d.chain_id, place["location_id"])
        sold = await lookups.abonement(api, env.company_id, phone, sale.abonement_id, their_type)
    except ApiRefused as exc:
        raise Keep(f"api_refused: {exc}") from exc
    if sold is None:
        raise Keep("unknown_membership: the API shows no membership of this sale for the client")
    ours = c["membership_types"].get(str(sold["type_id"]))
    if ours is None:
        raise Keep(
            f"unmapped_membership_type: their membership type {sold['type_id']} is not mapped to one of ours "
            "(PATCH the connection's membership_types, then replay)"
        )
    event = mapping.membership_sold(
        c["system"], env.company_id, place["location_id"], sale, ours, sold["code"], phone, batch.now
    )
    _publish(batch, d.chain_id, "membership.sold", event)
    return "applied", None, 0


def _publish(batch: Batch, chain_id: str, topic: str, event: dict[str, Any]) -> None:
    try:
        model = MODELS[topic].model_validate({**event, "chain_id": chain_id})
    except ValidationError as exc:
        raise Keep(f"invalid {topic}: {describe(exc)}") from exc
    batch.uow.publish(topic, event["client"]["id"], model)


def _phone(phone: str | None, chain_id: str, location_id: str) -> str | None:
    """E.164, read in the location's region; their international numbers often come without the `+`."""
    if not phone:
        return None
    digits = "".join(ch for ch in phone if ch.isdigit())
    region = phones.region(chain_id, location_id)
    return phones.e164(phone, region) or (phones.e164(f"+{digits}", region) if digits else None)
