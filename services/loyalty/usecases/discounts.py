"""Chain discount promotions at the checkout and on the paid visit (issue 18). A discount is a right at the
checkout, not points: the checkout quote asks `promotion_offers` what each of the client's discount
promotions offers a line; the booking system applies one (`choose_discount`) and `visit.paid` says per line
what it applied. `discounts_on_visit` then checks each promotion's discount with the same rules
(domain/discounts.py) on the batch's books, records it (discount_uses: max_uses counts the applied ones)
and publishes `loyalty.discount_applied` (the visit's discounted lines) or `loyalty.discount_refused` (a
promotion the client was not to have: the money is taken already, so it is recorded and flagged, and the
visit's other effects go on).

Both read the client's history *before* the visit: the payment calls `discounts_on_visit` before the visit
is put on the books, the quote before its would-be visit is."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import asyncpg

from services.loyalty import discount_repository as repo
from services.loyalty.discount_repository import DiscountUse
from services.loyalty.domain import Promotion
from services.loyalty.domain.books import Books
from services.loyalty.domain.cards import Card
from services.loyalty.domain.discounts import CardStanding, Line, Offer, card_offer
from services.loyalty.usecases.bonus import Message, named_card
from shared import topics
from shared.events import AppliedDiscount, DiscountApplied, DiscountRefused, RefusedDiscount, VisitLine, VisitPaid

Pair = tuple[str, str]


@dataclass
class DiscountBook:
    """What a batch's discounts read (promotions by (chain, id), in creation order; the visits each
    promotion discounted on each card, (chain, card, promotion)) and the discounts it applied, to write."""

    promotions: dict[Pair, Promotion] = field(default_factory=dict)
    uses: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    new: list[DiscountUse] = field(default_factory=list)


async def load_discounts(
    conn: asyncpg.Connection, books: Books, events: Sequence[VisitPaid], *, offers: bool = False
) -> DiscountBook:
    """The promotions the events' lines name (for the payment's check); with `offers` (the quote) every
    discount promotion of the cards on the books too. Nothing is read for a batch without discounts."""
    named = {
        (e.chain_id, str(line.discount.promotion_id))
        for e in events
        for line in e.lines
        if line.discount is not None and line.discount.promotion_id is not None
    }
    card_types = {(c, card.card_type_id) for (c, _), card in books.cards.items()} if offers else set()
    if not (named or card_types):
        return DiscountBook()
    book = DiscountBook({(c, p.id): p for c, p in await repo.promotions(conn, named, card_types)})
    book.uses = await repo.uses(conn, set(books.cards))
    return book


async def save_discounts(conn: asyncpg.Connection, book: DiscountBook) -> None:
    await repo.save(conn, book.new)


def _cards(books: Books, e: VisitPaid) -> list[Card]:
    """The cards a visit's discounts come through: the card it names, else the client's, by issue."""
    if e.loyalty_card_id:
        card = named_card(books, e.chain_id, e.loyalty_card_id)
        return [card] if card is not None else []
    return books.cards_of(e.chain_id, e.client.id)


def standings(books: Books, book: DiscountBook, e: VisitPaid, p: Promotion) -> list[CardStanding]:
    """The visit's cards that get `p` (of a type it is attached to, valid at the location, issued by the
    payment), each with `p`'s history of the client before this visit and its uses on the card."""
    out = []
    for card in _cards(books, e):
        card_type = books.card_type(e.chain_id, card)
        if card_type is None or card.card_type_id not in p.card_type_ids:
            continue
        if not card_type.valid_at(e.location_id) or card.issued_at > e.occurred_at:
            continue
        history = books.history(
            e.chain_id,
            e.client.id,
            p.history_locations(card_type.location_ids),
            p.history_start,
            e.occurred_at,
            e.visit_id,
        )
        out.append(CardStanding(card.id, history, book.uses[(e.chain_id, card.id, p.id)]))
    return out


def as_line(line: VisitLine) -> Line:
    return Line(line.kind, line.item_id, line.category_id)


def promotion_offers(books: Books, book: DiscountBook, e: VisitPaid, line: Line) -> list[Offer]:
    """What each live discount promotion of the client's cards offers `line` (in creation order: `rank`),
    offered or not, for `choose_discount` (the book loaded with `offers`)."""
    types = {card.card_type_id for card in _cards(books, e)}
    mine = [
        p
        for (c, _), p in book.promotions.items()
        if c == e.chain_id and p.is_discount and not p.archived and types.intersection(p.card_type_ids)
    ]
    return [
        card_offer(p, line, location_id=e.location_id, cards=standings(books, book, e, p), channel=e.channel, rank=n)
        for n, p in enumerate(mine)
    ]


def _check(books: Books, book: DiscountBook, e: VisitPaid, line: VisitLine) -> tuple[str | None, str | None]:
    """A promotion's discount on a line: (None, card) when the client was to have it at that percent, else
    (why not, the card it was checked through)."""
    assert line.discount is not None
    p = book.promotions.get((e.chain_id, str(line.discount.promotion_id)))
    if p is None or not p.is_discount:
        return "not_found", None
    o = card_offer(p, as_line(line), location_id=e.location_id, cards=standings(books, book, e, p), channel=e.channel)
    if not o.offered:
        return o.code, o.card_id
    assert o.percent is not None
    return ("percent_exceeds_offer" if line.discount.percent > o.percent else None), o.card_id


# Why a referral discount a visit applied (its percent) was not the client's to have, or None: it stands.
ReferralCheck = Callable[[VisitPaid, Decimal], str | None]


def discounts_on_visit(
    books: Books, book: DiscountBook, e: VisitPaid, referral_check: ReferralCheck | None = None
) -> list[Message]:
    """The discounts the visit's lines applied: a promotion's checked and recorded (one use per card and
    promotion, however many lines), a referral's checked by `referral_check` (the referral program's
    first-visit offer), the personal one reported as said. Call it before the visit is put on the
    books (the history before the visit)."""
    applied: list[AppliedDiscount] = []
    refused: list[RefusedDiscount] = []
    used: set[tuple[str, str]] = set()
    for i, line in enumerate(e.lines):
        d = line.discount
        if d is None:
            continue
        said: dict[str, Any] = {
            "line": i,
            "item_id": line.item_id,
            "source": d.source,
            "percent": d.percent,
            "amount": d.amount,
        }
        if d.source != "promotion":
            why = referral_check(e, d.percent) if d.source == "referral" and referral_check is not None else None
            if why is None:
                applied.append(AppliedDiscount(**said))
            else:
                refused.append(RefusedDiscount(**said, reason=why))
            continue
        reason, card_id = _check(books, book, e, line)
        promotion_id = str(d.promotion_id)
        book.new.append(
            DiscountUse(
                e.chain_id,
                e.visit_id,
                i,
                e.location_id,
                e.client.id,
                promotion_id,
                card_id,
                d.percent,
                d.amount,
                reason,
                e.occurred_at,
            )
        )
        ids: dict[str, Any] = {"promotion_id": d.promotion_id, "card_id": uuid.UUID(card_id) if card_id else None}
        if reason is None:
            applied.append(AppliedDiscount(**said, **ids))
            used.add((str(card_id), promotion_id))
        else:
            refused.append(RefusedDiscount(**said, **ids, reason=reason))
    for card_id, promotion_id in used:
        book.uses[(e.chain_id, card_id, promotion_id)] += 1
    common: dict[str, Any] = {
        "chain_id": e.chain_id,
        "location_id": e.location_id,
        "visit_id": e.visit_id,
        "client": e.client,
    }
    out: list[Message] = []
    if applied:
        total = sum((a.amount for a in applied), Decimal("0"))
        out.append(
            (topics.LOYALTY_DISCOUNT_APPLIED, e.client.id, DiscountApplied(**common, lines=applied, amount=total))
        )
    if refused:
        out.append((topics.LOYALTY_DISCOUNT_REFUSED, e.client.id, DiscountRefused(**common, lines=refused)))
    return out
