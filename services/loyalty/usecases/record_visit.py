"""Visit events, a batch at a time: the client's statistics (one row per visit, whatever the order the
events come in), on a paid visit the bonus program, then the location program recalculated for the
client. Each handler loads what the batch needs (one statement per table), decides record by record
on the batch's books (each record sees what the earlier ones did, as if they had come one at a time),
saves what changed (one statement per table) and publishes in record order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg
from pydantic import BaseModel

from services.loyalty import batch_repository as batch
from services.loyalty import desk_sale_repository as desks
from services.loyalty.domain.books import Books
from services.loyalty.domain.visits import visit_paid, visit_status, visit_totals
from services.loyalty.usecases.bonus import Message, bonus_on_visit, named_card
from services.loyalty.usecases.discounts import ReferralCheck, discounts_on_visit, load_discounts, save_discounts
from services.loyalty.usecases.recalculate import reassess
from shared.db import as_uuid
from shared.events import VisitPaid, VisitStatus
from shared.uow import UnitOfWork


async def record_payments(
    uow: UnitOfWork, events: list[VisitPaid], referral_check: ReferralCheck | None = None
) -> None:
    """`referral_check`: why a referral discount a visit applied is refused (referral_visits.py decides it)."""
    books = await load_books(uow.conn, events, with_cards=True)
    discounts = await load_discounts(uow.conn, books, events)
    out: list[tuple[Message, BaseModel]] = []
    for e in events:
        out += [(m, e) for m in discounts_on_visit(books, discounts, e, referral_check)]  # the history before it
        books.put_visit(
            e.chain_id,
            visit_paid(
                books.visit(e.chain_id, e.visit_id),
                e.visit_id,
                e.location_id,
                e.client.id,
                *visit_totals(e.lines),
                e.occurred_at,
            ),
        )
        books.tell_client(e.chain_id, e.client.id, e.client.phone, e.client.name)
        out += [(m, e) for m in bonus_on_visit(books, e)]
        out += [(m, e) for m in reassess(books, e.chain_id, e.location_id, e.client.id, "visit_paid")]
    await _save(uow.conn, books, "payment")
    await save_discounts(uow.conn, discounts)
    _publish(uow, out)


async def record_arrivals(uow: UnitOfWork, events: list[VisitStatus]) -> None:
    await _record_statuses(uow, events, "arrived")


async def record_no_shows(uow: UnitOfWork, events: list[VisitStatus]) -> None:
    await _record_statuses(uow, events, "no_show")


async def _record_statuses(uow: UnitOfWork, events: list[VisitStatus], status: str) -> None:
    books = await load_books(uow.conn, events, with_cards=False)
    out: list[tuple[Message, BaseModel]] = []
    for e in events:
        books.put_visit(
            e.chain_id,
            visit_status(
                books.visit(e.chain_id, e.visit_id),
                e.visit_id,
                e.location_id,
                e.client.id,
                status,
                e.occurred_at,
                e.scheduled_at,
            ),
        )
        books.tell_client(e.chain_id, e.client.id, e.client.phone, e.client.name)
        out += [(m, e) for m in reassess(books, e.chain_id, e.location_id, e.client.id, f"visit_{status}")]
    await _save(uow.conn, books, "status")
    _publish(uow, out)


async def load_books(
    conn: asyncpg.Connection, events: Sequence[VisitPaid | VisitStatus], with_cards: bool, *, lock: bool = True
) -> Books:
    """The programs of the batch's locations; the states of their clients there, locked (first: then
    the statistics are read); the cards, with their types, promotions, uses and lots; every visit of
    the batch's clients and the batch's visits, and the clients' desk sales; the clients' phone and name.
    Not `lock`: read as they stand, nothing locked or created, the clients' contacts not read (the checkout
    quote's would-be visit)."""
    books = Books(datetime.now(UTC))
    clients = {(e.chain_id, e.client.id) for e in events}
    books.programs = await batch.programs(conn, {(e.chain_id, e.location_id) for e in events}, hold=lock)
    keys = {(e.chain_id, e.location_id, e.client.id) for e in events if (e.chain_id, e.location_id) in books.programs}
    books.states = await (batch.lock_states(conn, keys, books.as_of) if lock else batch.states(conn, keys))
    if with_cards:
        await _load_cards(conn, books, [e for e in events if isinstance(e, VisitPaid)], lock=lock)
    for chain_id, row in await batch.visits(conn, clients, {(e.chain_id, e.visit_id) for e in events}):
        books.know_visit(chain_id, row)
    for chain_id, row in await desks.rows(conn, clients):  # their sold and paid, their histories' totals
        books.know_desk_sale(chain_id, row)
    if lock:  # the clients' phone and name, to keep what the batch tells of them: a quote writes nothing
        books.clients = await batch.clients(conn, clients)
    return books


async def _load_cards(conn: asyncpg.Connection, books: Books, events: list[VisitPaid], *, lock: bool) -> None:
    refs = {(e.chain_id, e.loyalty_card_id) for e in events if e.loyalty_card_id}
    ids = {(chain_id, str(key)) for chain_id, ref in refs if (key := as_uuid(ref)) is not None}
    owners = {(e.chain_id, e.client.id) for e in events if not e.loyalty_card_id}  # their cards all accrue
    for chain_id, card, card_type in await batch.cards(conn, owners, refs, ids, lock=lock):
        books.know_card(chain_id, card)
        if card_type is not None:
            books.card_types[(chain_id, card_type.id)] = card_type
    by_issue = sorted(books.cards.items(), key=lambda kc: (kc[1].issued_at, kc[1].id))
    for (chain_id, _), card in by_issue:
        if (chain_id, card.client_id) in owners:
            books.client_cards.setdefault((chain_id, card.client_id), []).append(card.id)
    books.promotions = await batch.promotions(conn, {(c, card.card_type_id) for (c, _), card in books.cards.items()})
    limited = {
        (c, card.id)
        for (c, _), card in books.cards.items()
        if any(p.max_uses for p in books.promotions_of(c, card.card_type_id))
    }
    books.uses = await batch.uses(conn, limited)
    spending = {(e.chain_id, e.loyalty_card_id) for e in events if e.loyalty_card_id and e.bonus_spent > 0}
    named = ((chain_id, named_card(books, chain_id, ref)) for chain_id, ref in spending)
    books.lots = await batch.lots(conn, {(chain_id, card.id) for chain_id, card in named if card is not None})


async def _save(conn: asyncpg.Connection, books: Books, kind: str) -> None:
    await batch.save_visits(
        conn, kind, [(c, books.visits[(c, v)]) for c, v in books.visits_changed], books.clients_told
    )
    await batch.take_from_lots(conn, books.taken)
    await batch.add_lots(conn, [(lot, books.new_lot_remaining(lot)) for lot in books.new_lots])
    await batch.move_points(conn, books.moves)
    await batch.save_states(conn, {k: books.states[k] for k in books.states_changed})


def _publish(uow: UnitOfWork, out: list[tuple[Message, BaseModel]]) -> None:
    for (topic, key, event), cause in out:
        uow.publish(topic, key, event, cause=cause)
