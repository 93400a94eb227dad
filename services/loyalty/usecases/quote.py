"""The checkout quote's loyalty part: the discount each line would get (and the offers it qualified for),
the bonus points the client could spend, and the cashback the visit would earn. Changes nothing.

It runs the payment's own code on a would-be visit: the books a batch of `visit.paid` loads (read, not
locked: `load_books(lock=False)`), the visit put on them as `record_payments` puts it, then
`bonus_on_visit`, whose accruals are the cashback (every promotion, tier, every Nth visit and max uses as
the payment will decide them). A line's `paid` is what it would cost: its `sold` less its discount, or 0
where a membership pays it (`covered_lines`, which the gateway learns from the memberships part).

The discount offers of a line come from one function, `line_offers`: the personal discount (the location
program's, evaluated now as the program's recalculation would), the referral discount of an invitee's first
visit (`referral_offer_for`: the referral program's rule) and every discount promotion of the client's cards
(`promotion_offers`: the rules the payment checks an applied discount with, on the history before the
visit); `choose_discount` picks the one the line gets, and says why each other lost."""

from __future__ import annotations

import copy
import uuid
from decimal import Decimal

import asyncpg

from services.loyalty import domain
from services.loyalty.domain.books import Books
from services.loyalty.domain.cards import Card
from services.loyalty.domain.discounts import Line, Offer, choose_discount, discount_amount
from services.loyalty.domain.visits import visit_paid, visit_totals
from services.loyalty.usecases.bonus import bonus_on_visit, named_card
from services.loyalty.usecases.discounts import DiscountBook, load_discounts, promotion_offers
from services.loyalty.usecases.record_visit import load_books
from services.loyalty.usecases.referrals import referral_offer_for
from shared.events import BonusAccrued, VisitLine, VisitPaid
from shared.quote import (
    DISCOUNTED_KINDS,
    NOT_NAMED,
    ZERO,
    Amount,
    CardPoints,
    Cashback,
    CashbackVariant,
    DiscountOffer,
    LineDiscount,
    LoyaltyPart,
    Percent,
    QuoteLine,
    QuotePartIn,
    Reasoned,
)


def would_be_visit(chain_id: str, q: QuotePartIn, paid: list[Decimal]) -> VisitPaid:
    """The `visit.paid` the quote stands for: the visit it names, else an id no visit has."""
    return VisitPaid(
        event_id=f"quote:{uuid.uuid4()}",
        occurred_at=q.occurred_at,
        chain_id=chain_id,
        location_id=q.location_id,
        visit_id=q.visit_id or f"quote:{uuid.uuid4()}",
        client=q.client,
        loyalty_card_id=q.loyalty_card_id,
        channel=q.channel,
        lines=[
            VisitLine(
                kind=line.kind,
                item_id=line.item_id,
                category_id=line.category_id,
                quantity=line.quantity,
                sold=line.sold,
                paid=p,
            )
            for line, p in zip(q.lines, paid, strict=True)
        ],
    )


async def quote_part(conn: asyncpg.Connection, chain_id: str, q: QuotePartIn) -> LoyaltyPart:
    e = would_be_visit(chain_id, q, [line.sold for line in q.lines])
    books = await load_books(conn, [e], with_cards=True, lock=False)
    visit = visit_state(books, e, named=q.visit_id is not None)
    book = await load_discounts(conn, books, [e], offers=True)
    personal = personal_discount(books, e)
    first_visit = await referral_discount(conn, chain_id, q)
    lines = [
        line_discount(i, line, line_offers(books, book, e, personal, first_visit, line))
        for i, line in enumerate(q.lines)
    ]
    cards = _cards(books, e)
    covered = sorted(set(q.covered_lines))
    services = [i for i, line in enumerate(q.lines) if line.kind == "service"]
    # The variant the gateway most often needs next (a membership pays every service line), decided now on a
    # copy of the books, so that it need not ask again (it still does for any other set of covered lines).
    variant = None
    if not covered and services and cards:
        variant = _variant(copy.deepcopy(books), e, lines, services)
    spendable = [c for c in cards or [] if c.spendable]
    best = max(spendable, key=lambda c: c.balance, default=None)
    return LoyaltyPart(
        visit=visit,
        personal_discount=personal,
        lines=lines,
        cards=cards or [],
        points_available=(
            Amount(amount=best.balance, code="card_balance", reason=f"the balance of card {best.number}")
            if best is not None
            else Amount(
                amount=ZERO,
                code="unknown_card" if cards is None else "no_points",
                reason="no loyalty card with that id or number"
                if cards is None
                else "no card of the client holds points it may spend here",
            )
        ),
        **(_variant(books, e, lines, covered) if cards is not None else _variant_of([])).model_dump(
            include={"cashback", "cashback_total"}
        ),
        if_service_lines_covered=variant,
    )


def visit_state(books: Books, e: VisitPaid, *, named: bool) -> Reasoned:
    """The visit the quote names: paid already (loyalty recorded its payment: a visit is applied once, so
    paying it again changes nothing), or still to pay; `not_named` where the quote names none."""
    if not named:
        return Reasoned(code="not_named", reason=NOT_NAMED)
    row = books.visit(e.chain_id, e.visit_id)
    if row is not None and row.paid_at is not None:
        return Reasoned(
            code="already_paid",
            reason=f"visit {e.visit_id} was paid at {row.paid_at.isoformat()}: paid again, it changes nothing",
        )
    return Reasoned(code="to_pay", reason=f"visit {e.visit_id} is not paid yet")


def _variant(books: Books, e: VisitPaid, lines: list[LineDiscount], covered: list[int]) -> CashbackVariant:
    """The cashback of the visit paid as quoted: each line its sold less its discount, 0 where covered (a
    membership pays it). Runs the payment's accruals on `books` (which it changes: a copy for a what-if)."""
    paid = [ZERO if i in covered else x.sold - d.amount for i, (x, d) in enumerate(zip(e.lines, lines, strict=True))]
    e = e.model_copy(update={"lines": [x.model_copy(update={"paid": p}) for x, p in zip(e.lines, paid, strict=True)]})
    row = visit_paid(None, e.visit_id, e.location_id, e.client.id, *visit_totals(e.lines), e.occurred_at)
    books.put_visit(e.chain_id, row)  # as record_payments does: the history counts this visit
    return _variant_of(_cashback(books, e), covered)


def _variant_of(cashback: list[Cashback], covered: list[int] | None = None) -> CashbackVariant:
    return CashbackVariant(
        covered_lines=covered or [],
        cashback=cashback,
        cashback_total=Amount(
            amount=sum((c.amount for c in cashback), ZERO),
            code="cashback" if cashback else "no_cashback",
            reason="what the card promotions would accrue on this visit, paid as quoted"
            if cashback
            else "no promotion of the client's cards accrues on this visit",
        ),
    )


# --- discounts ------------------------------------------------------------------------------------------

MANUAL = "set by hand in the client card"


def personal_discount(books: Books, e: VisitPaid) -> Percent:
    """The client's discount at the location, as the location program gives it now (the recalculation's
    evaluate, on the client's statistics before this visit, with a manual value over it)."""
    program = books.program(e.chain_id, e.location_id)
    state = books.state(e.chain_id, e.location_id, e.client.id)
    if program is None:
        if state.manual.discount_percent:
            return Percent(
                percent=state.manual.discount_percent, code="manual", reason="set by hand in the client card"
            )
        return Percent(percent=ZERO, code="no_program", reason="the location has no loyalty program")
    now = domain.evaluate(program, books.stats(e.chain_id, e.location_id, e.client.id), books.as_of, state.manual)
    if state.manual.discount_percent is not None:
        return Percent(percent=now.discount_percent, code="manual", reason=MANUAL)
    if not now.discount_percent:
        return Percent(
            percent=ZERO, code="no_rule_reached", reason="no discount rule of the location's program is reached"
        )
    return Percent(
        percent=now.discount_percent,
        code="program",
        reason=f"the location program's highest discount rule the client reaches: {now.discount_percent}%",
    )


async def referral_discount(conn: asyncpg.Connection, chain_id: str, q: QuotePartIn) -> Offer | None:
    """The referral discount of an invitee's first visit (recorded, or named by the quote as the visit will
    name it); not offered, why (`not_first_visit`...), or None where there is nothing to say (no program,
    no referral)."""
    found = await referral_offer_for(conn, chain_id, q.client.id, q.referral, q.client.phone, q.visit_id)
    if found.percent > 0:
        return Offer.referral(found.percent)
    if found.code in ("program_disabled", "no_referral"):
        return None
    return Offer.refused("referral", found.code, found.reason)


def line_offers(
    books: Books, book: DiscountBook, e: VisitPaid, personal: Percent, referral: Offer | None, line: QuoteLine
) -> list[Offer]:
    """The discounts a line qualifies for, or not and why: the personal discount, the referral discount,
    then what each discount promotion of the client's cards offers it."""
    if line.kind not in DISCOUNTED_KINDS:
        return []
    offers = [Offer.personal(personal.percent)] if personal.percent > 0 else []
    offers += [referral] if referral is not None else []
    return offers + promotion_offers(books, book, e, Line(line.kind, line.item_id, line.category_id))


def _offer(o: Offer, code: str | None = None, reason: str | None = None) -> DiscountOffer:
    return DiscountOffer(
        source=o.source,
        percent=o.percent,
        promotion_id=uuid.UUID(o.promotion_id) if o.promotion_id else None,
        code=code or o.code,
        reason=reason or o.reason,
    )


def line_discount(index: int, line: QuoteLine, offers: list[Offer]) -> LineDiscount:
    """The one discount the line gets (`choose_discount`: the highest percent; a tie to the personal, then
    the referral discount, then promotions in creation order), with every other offer and why it lost."""
    if line.kind not in DISCOUNTED_KINDS:
        return LineDiscount(line=index, code="not_discounted", reason=f"a {line.kind} line gets no discount")
    choice = choose_discount(offers)
    others = [_offer(lost.offer, lost.code, lost.reason) for lost in choice.others]
    if choice.winner is None or choice.winner.percent is None:
        return LineDiscount(
            line=index, offers=others, code="no_discount", reason="the client qualifies for no discount here"
        )
    won = choice.winner
    assert won.percent is not None
    amount = discount_amount(line.sold, won.percent)
    return LineDiscount(
        line=index,
        chosen=_offer(won),
        amount=amount,
        offers=[_offer(won), *others],
        code=f"{won.source}_discount",
        reason=f"{won.percent}% off {line.sold}: {won.reason}"
        + (f" (of {len(others) + 1} offers, the highest percent)" if others else ""),
    )


# --- points and cashback --------------------------------------------------------------------------------


def _cards(books: Books, e: VisitPaid) -> list[CardPoints] | None:
    """The cards the visit would spend from and earn on: the one it names, else all of the client's (None:
    it names a card the chain does not have)."""
    if e.loyalty_card_id:
        named = named_card(books, e.chain_id, e.loyalty_card_id)
        if named is None:
            return None
        cards: list[Card] = [named]
    else:
        cards = books.cards_of(e.chain_id, e.client.id)
    return [_points(books, e, card) for card in cards]


def _points(books: Books, e: VisitPaid, card: Card) -> CardPoints:
    """The payment's own checks for spending (bonus._spend): the card's type valid here, points held."""
    card_type = books.card_type(e.chain_id, card)
    if card_type is None or not card_type.valid_at(e.location_id):
        code, reason, ok = "location_not_allowed", "the card's type is not valid at this location", False
    elif card.balance <= 0:
        code, reason, ok = "no_points", "the card holds no points", False
    else:
        code, reason, ok = "spendable", f"{card.balance} points may pay part of the visit", True
    return CardPoints(
        card_id=uuid.UUID(card.id), number=card.number, balance=card.balance, spendable=ok, code=code, reason=reason
    )


def _cashback(books: Books, e: VisitPaid) -> list[Cashback]:
    names = {p.id: p.name for promotions in books.promotions.values() for p in promotions}
    out = []
    for _topic, _key, event in bonus_on_visit(books, e):
        if isinstance(event, BonusAccrued) and event.promotion_id is not None:
            out.append(
                Cashback(
                    card_id=event.card_id,
                    number=event.card_number,
                    promotion_id=event.promotion_id,
                    amount=event.amount,
                    code="cashback",
                    reason=f"promotion {names.get(str(event.promotion_id), event.promotion_id)!r} would accrue "
                    f"{event.amount} points on card {event.card_number}",
                )
            )
    return out
