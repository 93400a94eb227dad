"""Gift cards sold as memberships are (services/inventory): a product per type in its own category, what a
product or a line sells unit by unit, a `gift_card.sold` per unit at its share of the line (to the line's
holder), and a desk sale's loyalty totals without its gift cards (buying one is prepaying)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal as D

from services.inventory import domain
from services.inventory.usecases.desk_sale import counted, sale_totals
from services.inventory.usecases.record import OpLine
from shared.events import Client
from shared.sales import gift_card_sales, membership_sales, membership_units

TYPE = uuid.UUID("7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f")
AT = datetime(2026, 3, 1, 10, 40, tzinfo=UTC)
ANNA = Client(id="cl-1", phone="+36201234567")
BEA = Client(id="cl-2", phone="+36207654321")


def test_what_a_product_sells_unit_by_unit() -> None:
    assert domain.unit_kind({"membership_type_id": TYPE, "gift_card_type_id": None}) == "membership"
    assert domain.unit_kind({"membership_type_id": None, "gift_card_type_id": TYPE}) == "gift_card"
    assert domain.unit_kind({"membership_type_id": None, "gift_card_type_id": None}) is None
    assert domain.UNIT_KINDS["gift_card"] == ("gift_card_type_id", "Gift cards")


def test_a_type_product_id_is_stable_and_a_gift_card_type_has_its_own() -> None:
    t = str(TYPE)
    assert domain.type_product_id("membership", "c1", t, "loc-1") == domain.membership_product_id("c1", t, "loc-1")
    gift = domain.type_product_id("gift_card", "c1", t, "loc-1")
    assert gift == domain.type_product_id("gift_card", "c1", t, "loc-1")
    assert gift not in {
        domain.membership_product_id("c1", t, "loc-1"),
        domain.type_product_id("gift_card", "c1", t, None),
        domain.type_product_id("gift_card", "c2", t, "loc-1"),
    }


def line(kind: str | None, amount: str, quantity: int = 1, product_id: str = "p") -> OpLine:
    return OpLine(
        product_id,
        "x",
        "pcs",
        D(quantity),
        D(amount) / quantity,
        D(amount),
        membership_type_id=TYPE if kind == "membership" else None,
        gift_card_type_id=TYPE if kind == "gift_card" else None,
    )


def test_a_line_knows_what_it_sells_unit_by_unit() -> None:
    assert (line("gift_card", "1").kind, line("gift_card", "1").sells_units) == ("gift_card", True)
    assert (line("membership", "1").kind, line("membership", "1").type_id) == ("membership", TYPE)
    assert (line(None, "1").kind, line(None, "1").sells_units, line(None, "1").type_id) == (None, False, None)


def test_a_desk_sale_counts_for_loyalty_without_its_gift_cards() -> None:
    lines = [line(None, "600.00", 2, "oil"), line("gift_card", "9000.00"), line("membership", "8000.00", 1, "m")]
    assert sale_totals(counted(lines), {"oil": D("300.00")}) == (D("8600.00"), D("8600.00"))
    assert counted([line("gift_card", "9000.00")]) == []  # gift cards only: nothing to count


def test_each_gift_card_unit_is_sold_at_its_share_to_the_holder() -> None:
    units = membership_units("visit:v-1", 2, 3, ["G-1", "auto", "auto"])
    sold = gift_card_sales("c1", "loc-1", TYPE, units, D("100.00"), ANNA, BEA, AT)
    assert [(s.sale_id, s.code, s.price) for s in sold] == [
        ("inventory:visit:v-1:2:0", "G-1", D("33.34")),
        ("inventory:visit:v-1:2:1", "auto", D("33.33")),
        ("inventory:visit:v-1:2:2", "auto", D("33.33")),
    ]
    assert {(s.client, s.holder, s.gift_card_type_id, s.channel) for s in sold} == {(ANNA, BEA, TYPE, "desk")}
    # A replay names the same events; a membership.sold of the same sale id is another event.
    again = gift_card_sales("c1", "loc-1", TYPE, units, D("100.00"), ANNA, BEA, AT)
    assert [s.event_id for s in again] == [s.event_id for s in sold]
    memberships = membership_sales("c1", "loc-1", TYPE, units, D("100.00"), ANNA, AT)
    assert not {s.event_id for s in sold} & {m.event_id for m in memberships}
