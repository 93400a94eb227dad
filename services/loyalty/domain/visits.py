"""A visit's row as the booking system's events leave it, and what a client's rows add up to: the
statistics of the location program and the history of a promotion. Pure: the standard library only.

The visits table holds one row per visit, filled by `visit.paid` and `visit.status_*` in whatever order
they come; these are the rules that fill it (the SQL upserts only guard them against a concurrent
writer) and the rules that read it, so a batch of events applies them to its rows in memory exactly
as one event at a time applied them in the database."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Protocol

from services.loyalty.domain import ZERO, History, Stats


@dataclass(frozen=True)
class VisitRow:
    visit_id: str
    location_id: str  # where and whose: as the first event of the visit said (later ones never move it)
    client_id: str
    sold: Decimal | None = None  # the payment (visit.paid)
    paid: Decimal | None = None
    paid_at: datetime | None = None
    status: str | None = None  # arrived or no_show, the latest reported (visit.status_*)
    status_at: datetime | None = None
    scheduled_at: datetime | None = None
    # A sale at the desk (inventory.sale_recorded; `visit_id` is its operation's id, `paid_at` its time):
    # its totals count in sold and paid and in a promotion's history totals, but it is not a visit: not
    # counted as one (visits, every Nth visit), and not activity (inactivity counts from visits).
    desk_sale: bool = False


def desk_sale(
    operation_id: str, location_id: str, client_id: str, sold: Decimal, paid: Decimal, at: datetime
) -> VisitRow:
    return VisitRow(operation_id, location_id, client_id, sold, paid, at, desk_sale=True)


class PaidLine(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def sold(self) -> Decimal: ...
    @property
    def paid(self) -> Decimal: ...


def counts_in_totals(kind: str) -> bool:
    """Whether a visit line counts in the visit's sold and paid: a gift card sold does not (buying one is
    prepaying: the money counts when the card pays, in the `paid` of the line it pays, else twice)."""
    return kind != "gift_card"


def visit_totals(lines: Iterable[PaidLine]) -> tuple[Decimal, Decimal]:
    """A paid visit's (sold, paid) as loyalty counts them: its lines' but for those `counts_in_totals` leaves out."""
    counted = [line for line in lines if counts_in_totals(line.kind)]
    return sum((x.sold for x in counted), Decimal("0")), sum((x.paid for x in counted), Decimal("0"))


def visit_paid(
    row: VisitRow | None, visit_id: str, location_id: str, client_id: str, sold: Decimal, paid: Decimal, at: datetime
) -> VisitRow:
    """The row after a payment: its totals and time replace what it held."""
    base = row or VisitRow(visit_id, location_id, client_id)
    return replace(base, sold=sold, paid=paid, paid_at=at)


def status_replaces(held_at: datetime | None, reported_at: datetime) -> bool:
    """A status reported later than the one held (or at the same moment) replaces it; an older one
    arriving late does not."""
    return held_at is None or held_at <= reported_at


def visit_status(
    row: VisitRow | None,
    visit_id: str,
    location_id: str,
    client_id: str,
    status: str,
    at: datetime,
    scheduled_at: datetime,
) -> VisitRow:
    """The row after a status event."""
    if row is None:
        return VisitRow(visit_id, location_id, client_id, status=status, status_at=at, scheduled_at=scheduled_at)
    if not status_replaces(row.status_at, at):
        return row
    return replace(row, status=status, status_at=at, scheduled_at=scheduled_at)


def stats_of(rows: Iterable[VisitRow]) -> Stats:
    """A client's statistics from their visit rows (at one location, or across the chain): what was
    sold and paid, the arrived visits and no-shows, the last arrived visit (its scheduled time) and
    the last payment."""
    sold = paid = ZERO
    visits = no_shows = 0
    last_visit: datetime | None = None
    last_paid: datetime | None = None
    for r in rows:
        sold += r.sold if r.sold is not None else ZERO
        paid += r.paid if r.paid is not None else ZERO
        if r.status == "arrived":
            visits += 1
            when = r.scheduled_at or r.status_at
            if when is not None and (last_visit is None or when > last_visit):
                last_visit = when
        elif r.status == "no_show":
            no_shows += 1
        if r.paid_at is not None and not r.desk_sale and (last_paid is None or r.paid_at > last_paid):
            last_paid = r.paid_at
    return Stats(sold, paid, visits, no_shows, last_visit, last_paid)


def history_of(
    rows: Iterable[VisitRow], locations: Sequence[str] | None, start: date | None, paid_at: datetime, visit_id: str
) -> History:
    """The client's paid visits up to and including this one (by payment time, then visit id), at
    `locations` (None: the whole chain), paid on `start` (a UTC date) or later."""
    sold = paid = ZERO
    count = 0
    for r in rows:
        if r.paid_at is None or (r.paid_at, r.visit_id) > (paid_at, visit_id):
            continue
        if locations is not None and r.location_id not in locations:
            continue
        if start is not None and r.paid_at.astimezone(UTC).date() < start:
            continue
        sold += r.sold if r.sold is not None else ZERO
        paid += r.paid if r.paid is not None else ZERO
        count += 0 if r.desk_sale else 1
    return History(sold, paid, count)
