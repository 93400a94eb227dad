"""The checkout quote composed from its parts (pure): per line, the membership that pays it or the discount
it gets and what is left to pay; the totals. Every number says where it comes from (a code, plain words).

A line a membership pays costs nothing and gets no discount. A part that was unavailable leaves its numbers
at 0 with the code `part_unavailable` (the quote says what it could not learn; it never guesses)."""

from __future__ import annotations

from decimal import Decimal

from shared.quote import (
    ZERO,
    Amount,
    LineDiscount,
    LoyaltyPart,
    MembershipLine,
    MembershipsPart,
    QuoteLineOut,
    QuoteOut,
    QuotePartIn,
    Reasoned,
    Totals,
    Unavailable,
    WalletPart,
)

UNAVAILABLE = "part_unavailable"


def _total(amount: Decimal, code: str, reason: str) -> Amount:
    return Amount(amount=amount, code=code, reason=reason)


def compose(
    chain_id: str,
    q: QuotePartIn,
    memberships: MembershipsPart | Unavailable,
    loyalty: LoyaltyPart | Unavailable,
    wallet: WalletPart | Unavailable,
) -> QuoteOut:
    lines = [_line(i, q, memberships, loyalty) for i in range(len(q.lines))]
    sold = sum((x.sold for x in lines), ZERO)
    discount = sum((x.discount.amount for x in lines if isinstance(x.discount, LineDiscount)), ZERO)
    covered = sum((x.sold for x in lines if isinstance(x.membership, MembershipLine) and x.membership.covered), ZERO)
    after = sum((x.after_discounts.amount for x in lines), ZERO)
    totals = Totals(
        sold=_total(sold, "sold", "the lines' sold, added up"),
        discount=_total(discount, UNAVAILABLE, "the loyalty part did not answer: no discount is known")
        if isinstance(loyalty, Unavailable)
        else _total(discount, "discounts", "the discount chosen for each line, added up"),
        membership_covered=_total(covered, UNAVAILABLE, "the memberships part did not answer: no coverage is known")
        if isinstance(memberships, Unavailable)
        else _total(covered, "membership_covered", "the sold of the lines a membership pays, added up"),
        after_discounts=_total(after, "after_discounts", "sold, less the discounts and the lines memberships pay"),
        points_available=_total(ZERO, UNAVAILABLE, "the loyalty part did not answer")
        if isinstance(loyalty, Unavailable)
        else loyalty.points_available,
        stored_value_available=_stored_value(lines, wallet, after),
        to_pay_before_points_and_stored_value=_total(
            after,
            "to_pay",
            "what is left to pay once discounts and memberships are applied: points, gift cards, "
            "the account or money pay it",
        ),
    )
    return QuoteOut(
        chain_id=chain_id,
        location_id=q.location_id,
        client_id=q.client.id,
        occurred_at=q.occurred_at,
        visit_id=q.visit_id,
        visit=Reasoned(code=UNAVAILABLE, reason="the loyalty part did not answer")
        if isinstance(loyalty, Unavailable)
        else loyalty.visit,
        lines=lines,
        totals=totals,
        memberships=memberships,
        loyalty=loyalty,
        wallet=wallet,
    )


def _line(
    i: int, q: QuotePartIn, memberships: MembershipsPart | Unavailable, loyalty: LoyaltyPart | Unavailable
) -> QuoteLineOut:
    line = q.lines[i]
    membership: MembershipLine | Reasoned
    if isinstance(memberships, Unavailable):
        membership = Reasoned(code=UNAVAILABLE, reason=memberships.reason)
    else:
        found = next((x for x in memberships.lines if x.line == i), None)
        membership = found or Reasoned(code="not_a_service", reason=f"a {line.kind} line is not paid with a membership")
    discount: LineDiscount | Unavailable
    if isinstance(membership, MembershipLine) and membership.covered:
        discount = LineDiscount(line=i, code="membership_pays", reason="a membership pays this line: no discount")
        after = _total(ZERO, "membership_covered", "a membership pays this line")
    else:
        if isinstance(loyalty, Unavailable):
            discount = loyalty
        else:
            discount = next((x for x in loyalty.lines if x.line == i), None) or LineDiscount(
                line=i, code="no_discount", reason="the loyalty part says nothing of this line"
            )
        off = discount.amount if isinstance(discount, LineDiscount) else ZERO
        after = (
            _total(line.sold - off, "discounted", f"{line.sold} less the discount {off}")
            if off
            else _total(line.sold, "full_price", "no discount applies")
        )
    return QuoteLineOut(
        line=i,
        kind=line.kind,
        item_id=line.item_id,
        sold=line.sold,
        discount=discount,
        membership=membership,
        after_discounts=after,
    )


def _stored_value(lines: list[QuoteLineOut], wallet: WalletPart | Unavailable, to_pay: Decimal) -> Amount:
    """What gift cards and the account could pay of what is left: each usable card its balance, at most what
    the lines it may pay are left to pay, plus the account's available amount; at most the whole left to pay."""
    if isinstance(wallet, Unavailable):
        return _total(ZERO, UNAVAILABLE, "the wallet part did not answer")
    cards = sum(
        (
            min(card.balance, sum((lines[x.line].after_discounts.amount for x in card.lines if x.pays), ZERO))
            for card in wallet.gift_cards
        ),
        ZERO,
    )
    total = cards + wallet.account.available
    if total >= to_pay:
        return _total(
            to_pay,
            "covers_all",
            f"gift cards ({cards}) and the account ({wallet.account.available}) could pay all of it",
        )
    return _total(total, "stored_value", f"gift cards {cards} and the account {wallet.account.available}")
