"""Chain discount promotions, pure (the standard library only): what each discount promotion offers a
line of a visit about to be paid, or the machine code saying why not, and the one discount a line gets.

A discount is a right at the checkout, not points: the booking system learns it (the checkout quote
calls these functions) and applies it; `visit.paid` then says per line what it applied, and the loyalty
service checks it with the very same functions. Everything is decided from the client's history
*before* the visit (its tiers, its place for every Nth visit): the quote cannot know more, and the paid
visit must agree with the quote.

The types (`DISCOUNT_TYPES`, bonus.py): `static_discount` (its `percent` on every visit), `cumulative_discount_sold`,
`cumulative_discount_paid` and `cumulative_visits_discount` (the tier reached by the history's sold,
paid or visits), `online_booking_discount` (its `percent` when the visit was booked online). Each
promotion also has `location_ids`, `every_nth_visit`, `max_uses` (discounts applied per card) and
`applies_to` (the lines it covers).

Machine codes an offer carries: offered `static_discount`, `tier_reached`, `online_booking`; not offered
(checked in this order) `archived`, `wrong_location`, `line_not_covered`, `not_online`,
`max_uses_reached`, `not_nth_visit`, `tier_not_reached`, and `no_card` (the client holds no card that
gets the promotion). `choose_discount` adds `lower_percent` and `tie_lost` for the offers that lost."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from services.loyalty.domain.bonus import History, Promotion, tier_percent
from services.loyalty.domain.numbers import CENTS, HUNDRED

PERCENT_DISCOUNTS = ("static_discount", "online_booking_discount")  # a `percent`; the others have `rules`
DISCOUNTED_KINDS = ("service", "product")  # what a discount may apply to (never a membership or gift card)
MAX_APPLIES_TO_IDS = 100  # category_ids, item_ids: each at most this many
# Who a tie goes to: the personal discount (the location program's), then the referral discount, then
# promotions in the order they were made.
SOURCES = ("personal", "referral", "promotion")
Source = Literal["personal", "referral", "promotion"]


@dataclass(frozen=True)
class Line:
    """A line of the visit about to be paid, as a discount sees it."""

    kind: str  # service, product, membership, gift_card
    item_id: str
    category_id: str | None = None


@dataclass(frozen=True)
class AppliesTo:
    """The lines a discount promotion covers: a line whose kind is listed and, when any ids are listed,
    whose category or item is among them (all services and products by default)."""

    kinds: tuple[str, ...] = DISCOUNTED_KINDS
    category_ids: tuple[str, ...] = ()
    item_ids: tuple[str, ...] = ()

    def covers(self, line: Line) -> bool:
        if line.kind not in self.kinds:
            return False
        if not (self.category_ids or self.item_ids):
            return True
        return line.item_id in self.item_ids or (line.category_id is not None and line.category_id in self.category_ids)


@dataclass(frozen=True)
class Offer:
    """What one discount offers a line: a percent (with the code and words saying why), or None with
    the code and words saying why not. `rank`: a promotion's place in creation order (ties)."""

    source: Source
    percent: Decimal | None
    code: str
    reason: str
    promotion_id: str | None = None
    rank: int = 0
    card_id: str | None = None  # a promotion's: the client's card it comes through

    @property
    def offered(self) -> bool:
        return self.percent is not None and self.percent > 0

    @classmethod
    def promotion(cls, promotion_id: str, percent: Decimal, rank: int = 0, code: str = "static_discount") -> Offer:
        return cls("promotion", percent, code, f"{percent}% off", promotion_id, rank)

    @classmethod
    def personal(cls, percent: Decimal) -> Offer:
        """The client's discount from the location program (or set by hand)."""
        return cls("personal", percent, "personal_discount", f"the client's personal discount, {percent}%")

    @classmethod
    def referral(cls, percent: Decimal) -> Offer:
        """The invitee's discount on the first visit (the referral program)."""
        return cls("referral", percent, "referral_discount", f"the referral discount of a first visit, {percent}%")

    @classmethod
    def refused(
        cls, source: Source, code: str, reason: str, *, promotion_id: str | None = None, rank: int = 0
    ) -> Offer:
        return cls(source, None, code, reason, promotion_id, rank)


def _not(p: Promotion, rank: int, code: str, reason: str) -> Offer:
    return Offer.refused("promotion", code, reason, promotion_id=p.id, rank=rank)


def line_offer(
    p: Promotion,
    line: Line,
    *,
    location_id: str,
    history: History,
    channel: str = "desk",
    uses: int = 0,
    rank: int = 0,
) -> Offer:
    """What the discount promotion `p` offers `line` of a visit at `location_id` booked through `channel`
    (`desk` or `online`). `history`: the client's paid visits *before* this one that count for `p` (its
    `history_source` locations from its `history_start`: the same history cashback reads, this visit
    left out); `uses`: how many visits `p` has discounted on the client's card; `rank`: `p`'s place in
    creation order (for ties in `choose_discount`)."""
    if not p.is_discount:
        raise ValueError(f"promotion {p.id} ({p.type}) is not a discount")
    if p.archived:
        return _not(p, rank, "archived", "the promotion is archived")
    if p.location_ids and location_id not in p.location_ids:
        return _not(p, rank, "wrong_location", "the promotion does not run at this location")
    applies_to = p.applies_to or AppliesTo()
    if not applies_to.covers(line):
        return _not(p, rank, "line_not_covered", f"the promotion does not cover this {line.kind}")
    if p.type == "online_booking_discount" and channel != "online":
        return _not(p, rank, "not_online", "the visit was not booked online")
    if p.max_uses and uses >= p.max_uses:
        return _not(p, rank, "max_uses_reached", f"used {uses} times on the card, at most {p.max_uses}")
    place = history.visits + 1  # this visit's place in the promotion's history
    if p.every_nth_visit > 1 and place % p.every_nth_visit:
        return _not(p, rank, "not_nth_visit", f"this is visit {place}: every {p.every_nth_visit}th visit gets it")
    if p.type in PERCENT_DISCOUNTS:
        assert p.percent is not None
        code = "online_booking" if p.type == "online_booking_discount" else "static_discount"
        what = "booked online" if code == "online_booking" else "on every visit"
        return Offer("promotion", p.percent, code, f"{p.percent}% off {what}", p.id, rank)
    basis = "visits" if p.type == "cumulative_visits_discount" else ("sold" if p.type.endswith("_sold") else "paid")
    value = Decimal(history.visits) if basis == "visits" else history.value(basis)
    percent = tier_percent(p.rules, value)
    lowest = min((t.threshold for t in p.rules), default=Decimal(0))
    if not percent:
        return _not(
            p, rank, "tier_not_reached", f"{value} {basis} before this visit; the first tier starts at {lowest}"
        )
    reached = max(t.threshold for t in p.rules if value >= t.threshold)
    return Offer(
        "promotion", percent, "tier_reached", f"{value} {basis} before this visit reach the {reached} tier", p.id, rank
    )


@dataclass(frozen=True)
class CardStanding:
    """What one of the client's cards brings to a promotion: its history (the promotion's, which may
    count the card type's locations) and how many visits the promotion has discounted on it."""

    card_id: str
    history: History
    uses: int = 0


def card_offer(
    p: Promotion,
    line: Line,
    *,
    location_id: str,
    cards: Sequence[CardStanding],
    channel: str = "desk",
    rank: int = 0,
) -> Offer:
    """`line_offer` through the client's cards that get `p` (cards of a type `p` is attached to, valid
    at the location; the card the visit names, or every one of the client's, by issue): the first card
    it is offered through, else the first card's refusal; `no_card` when there is none."""
    first: Offer | None = None
    for card in cards:
        o = line_offer(
            p, line, location_id=location_id, history=card.history, channel=channel, uses=card.uses, rank=rank
        )
        o = Offer(o.source, o.percent, o.code, o.reason, o.promotion_id, o.rank, card.card_id)
        if o.offered:
            return o
        first = first or o
    return first or _not(p, rank, "no_card", "the client holds no card of a type this promotion is attached to")


def discount_amount(base: Decimal, percent: Decimal) -> Decimal:
    """`percent` of a line's `base` (its sold), rounded half-up to cents."""
    return (base * percent / HUNDRED).quantize(CENTS, ROUND_HALF_UP)


@dataclass(frozen=True)
class Lost:
    offer: Offer
    code: str  # the offer's own refusal code, or lower_percent / tie_lost
    reason: str


@dataclass(frozen=True)
class Choice:
    winner: Offer | None
    others: tuple[Lost, ...]  # the winner's rivals, best first, then those not offered in the order given


def _order(o: Offer) -> tuple[Decimal, int, int]:
    assert o.percent is not None
    return (-o.percent, SOURCES.index(o.source), o.rank)


def choose_discount(offers: Iterable[Offer]) -> Choice:
    """The one discount a line gets (no stacking): the highest percent among those offered; a tie goes
    to the personal discount, then the referral discount, then promotions in creation order (`rank`).
    Each other offer says why it lost: its own refusal code, `lower_percent` or `tie_lost`."""
    given = list(offers)
    ranked = sorted((o for o in given if o.offered), key=_order)
    if not ranked:
        return Choice(None, tuple(Lost(o, o.code, o.reason) for o in given))
    winner, *rest = ranked
    assert winner.percent is not None
    others = [
        Lost(o, "tie_lost", f"the same {o.percent}% as the {winner.source} discount, which goes first")
        if o.percent == winner.percent
        else Lost(o, "lower_percent", f"{o.percent}% is less than the {winner.percent}% chosen")
        for o in rest
    ]
    others += [Lost(o, o.code, o.reason) for o in given if not o.offered]
    return Choice(winner, tuple(others))
