"""Altegio / YCLIENTS webhooks, read as they are really sent, and what each one means for us. Pure:
standard library only, no I/O.

The sender (one backend for both brands) sends a snapshot of a resource after each change, about 5 s
late, maybe several times, in any order, with lenient types: ints for booleans, `[]` for an empty
object, `""` for null, floats with binary noise, dates with `+0300`, `+03:00` or no offset at all
(`../shared/booking-webhooks/README.md`). This module reads such a snapshot into plain values, keeps per
booking record what was last seen, and says which contract events a new snapshot causes: each of
arrived, no-show, cancelled and paid at most once per record, never from a snapshot older than the one
kept.

Our visit is their record (`resource: record`): a record has its own attendance, `paid_full` and
deletion, which are what our visit events say; their `visit_id` (several records of one client's
visit) is kept beside it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal
from zoneinfo import ZoneInfo

Kind = Literal["arrived", "no_show", "cancelled", "paid"]
CENTS = Decimal("0.01")
_OFFSET = re.compile(r"([+-]\d{2}):?(\d{2})$")


class Unreadable(ValueError):
    """A delivery that is not what the sender sends (kept with this reason, never applied)."""


# --- lenient values --------------------------------------------------------------------------------


def flag(value: Any) -> bool:
    """`1`, `true`, `"1"`, `"true"` are true; `0`, `false`, `""`, `null`, `[]` are false."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value) and value != []


def integer(value: Any) -> int | None:
    """An id or a count: an int, a digit string or a whole float; `""`, `null`, `[]` are none."""
    if isinstance(value, bool) or value in (None, "", []):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,18}", value.strip()):
        return int(value.strip())
    raise Unreadable(f"not a whole number: {str(value)[:40]!r}")


def money(value: Any) -> Decimal:
    """An amount: an int, a float with binary noise (`33.710000000000001`) or a numeric string, to cents."""
    if isinstance(value, bool) or value in (None, "", []):
        return Decimal("0")
    try:
        amount = Decimal(repr(value) if isinstance(value, float) else str(value).strip().replace(",", "."))
    except InvalidOperation as exc:
        raise Unreadable(f"not an amount: {str(value)[:40]!r}") from exc
    if not amount.is_finite():
        raise Unreadable(f"not an amount: {str(value)[:40]!r}")
    return amount.quantize(CENTS, rounding=ROUND_HALF_UP)


def obj(value: Any) -> dict[str, Any]:
    """An object, or `[]` / `""` / `null` (PHP's empty array) as none."""
    return value if isinstance(value, dict) else {}


def text(value: Any, limit: int = 200) -> str | None:
    if value in (None, "", []) or isinstance(value, dict | list):
        return None
    return str(value).strip()[:limit] or None


def local_time(value: Any, zone: ZoneInfo) -> datetime | None:
    """A time as the sender writes it: `2025-07-12 12:10:00` (the location's wall clock), ISO with
    `+0500` or `+05:00`, `.000`, or a unix number. The offset is not trusted (a Moscow branch sends
    `+0400`): the wall-clock part is read in the location's time zone."""
    if value in (None, "", [], 0):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), zone)
    raw = str(value).strip()
    wall = _OFFSET.sub("", raw.replace("Z", "")).replace("T", " ")
    try:
        parsed = datetime.fromisoformat(wall)
    except ValueError as exc:
        raise Unreadable(f"not a time: {raw[:40]!r}") from exc
    return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed.astimezone(zone)


# --- a delivery ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    company_id: int
    resource: str
    resource_id: int | None
    status: str  # create | update | delete: what happened to the resource
    data: dict[str, Any]


def envelope(body: Any) -> Envelope:
    if not isinstance(body, dict):
        raise Unreadable("not a JSON object")
    company = integer(body.get("company_id"))
    resource, status = text(body.get("resource"), 64), text(body.get("status"), 16)
    if company is None or resource is None or status is None:
        raise Unreadable("company_id, resource and status are required")
    return Envelope(company, resource, integer(body.get("resource_id")), status, obj(body.get("data")))


@dataclass(frozen=True)
class Client:
    id: str
    phone: str | None  # as sent (E.164 is made by the caller, who knows the location's region)
    name: str | None


@dataclass(frozen=True)
class ServiceLine:
    service_id: int
    quantity: int
    sold: Decimal  # the list price of the line (first_cost)
    paid: Decimal  # what is to be paid for it (cost_to_pay, or cost in older payloads)


@dataclass(frozen=True)
class Record:
    """One `record` snapshot, as far as our events need it."""

    id: int
    visit_id: int | None
    attendance: int  # 1 arrived, -1 no-show, 0 waiting, 2 confirmed
    paid: bool
    deleted: bool
    starts_at: datetime | None
    changed_at: datetime | None  # last_change_date: orders the snapshots of one record
    client: Client | None
    services: list[ServiceLine]
    document_id: int | None  # the visit's sale document (documents[type_id=7])


def record(env: Envelope, zone: ZoneInfo) -> Record:
    d = env.data
    rid = integer(d.get("id")) or env.resource_id
    if rid is None:
        raise Unreadable("a record without an id")
    attendance = integer(d.get("attendance"))
    if attendance is None:
        attendance = integer(d.get("visit_attendance")) or 0
    c = obj(d.get("client"))
    client_id = integer(c.get("id")) if c else None
    client = (
        Client(str(client_id), text(c.get("phone"), 32), text(c.get("display_name"), 200) or text(c.get("name"), 200))
        if client_id
        else None
    )
    services = []
    for s in d.get("services") or []:
        s = obj(s)
        sid = integer(s.get("id"))
        if sid is None:
            continue
        paid = s.get("cost_to_pay", s.get("cost"))
        services.append(
            ServiceLine(
                sid, max(integer(s.get("amount")) or 1, 1), money(s.get("first_cost", s.get("cost"))), money(paid)
            )
        )
    documents = [obj(doc) for doc in d.get("documents") or []]
    document = next((integer(doc.get("id")) for doc in documents if integer(doc.get("type_id")) == 7), None)
    return Record(
        rid,
        integer(d.get("visit_id")),
        attendance,
        flag(d.get("paid_full")),
        env.status == "delete" or flag(d.get("deleted")),
        local_time(d.get("date"), zone),
        local_time(d.get("last_change_date"), zone),
        client,
        services,
        document,
    )


@dataclass(frozen=True)
class GoodsSale:
    """A `goods_operations_sale` snapshot: a product sold (a membership when its product says so)."""

    id: int
    good_id: int
    quantity: int
    price: Decimal  # the line's total after discount (cost)
    abonement_id: int | None  # the membership issued, when the payload says (newer ones)
    client: Client | None
    changed_at: datetime | None


def goods_sale(env: Envelope, zone: ZoneInfo) -> GoodsSale:
    d = env.data
    sid, good = integer(d.get("id")) or env.resource_id, integer(obj(d.get("good")).get("id"))
    if sid is None or good is None:
        raise Unreadable("a goods operation without its id or its good")
    c = obj(d.get("client"))
    client_id = integer(c.get("id")) if c else None
    client = Client(str(client_id), text(c.get("phone"), 32), text(c.get("name"), 200)) if client_id else None
    return GoodsSale(
        sid,
        good,
        abs(integer(d.get("amount")) or 1),
        money(d.get("cost")),
        integer(d.get("loyalty_abonement_id")) or None,
        client,
        local_time(d.get("last_change_date") or d.get("create_date"), zone),
    )


# --- what a record's snapshots cause ---------------------------------------------------------------


@dataclass(frozen=True)
class RecordState:
    """What the gateway keeps of a record: the newest snapshot applied, and which events it sent."""

    changed_at: datetime | None = None
    attendance: int = 0
    paid: bool = False
    deleted: bool = False
    sent: frozenset[Kind] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Outcome:
    state: RecordState
    emit: list[Kind]  # in this order
    stale: bool = False  # older than what was kept: changes nothing


def transitions(kept: RecordState | None, snap: Record) -> Outcome:
    """Each of arrived, no-show, cancelled, paid is sent once per record, on the first snapshot that
    shows it; a snapshot older than the one kept changes nothing (an update that overtook it already
    said more). Paid and arrived in one snapshot: arrived first (the desk marks, then takes money).
    A record marked arrived is not also a no-show (the later mark would be a correction the desk made;
    the contract has no way to take an arrival back), and a deleted record's later marks are ignored."""
    kept = kept or RecordState()
    if kept.changed_at is not None and snap.changed_at is not None and snap.changed_at < kept.changed_at:
        return Outcome(kept, [], stale=True)
    emit: list[Kind] = []
    sent = set(kept.sent)
    if not snap.deleted and "cancelled" not in sent:
        if snap.attendance == 1 and not sent & {"arrived", "no_show"}:
            emit.append("arrived")
        elif snap.attendance == -1 and not sent & {"arrived", "no_show"}:
            emit.append("no_show")
        if snap.paid and "paid" not in sent:
            emit.append("paid")
    elif snap.deleted and "cancelled" not in sent and "paid" not in sent and "arrived" not in sent:
        emit.append("cancelled")
    sent |= set(emit)
    changed = max(filter(None, (kept.changed_at, snap.changed_at)), default=None)
    return Outcome(RecordState(changed, snap.attendance, snap.paid, snap.deleted, frozenset(sent)), emit)


def event_id(system: str, company_id: int, resource: str, resource_id: int, kind: str) -> str:
    """Derived, so one fact has one id however often it is delivered (or backfilled): every consumer's
    inbox dedupes it too."""
    return f"{system}:{company_id}:{resource}:{resource_id}:{kind}"


def occurred(at: datetime | None, now: datetime) -> datetime:
    """When a fact took place, never ahead of now (the sender's offsets cannot be trusted)."""
    return min(at or now, now)


def without(state: RecordState, kinds: set[Kind]) -> RecordState:
    """The state as if `kinds` had not been sent (their events could not be made now: a later try sends
    them)."""
    return replace(state, sent=state.sent - kinds)
