"""The card import's decision (services/loyalty/domain/card_import.py): new, already there, or refused."""

from decimal import Decimal

from services.loyalty.domain.card_import import ImportedCard, ImportPlan, ImportRefused, IssuedCard, plan_card_import

GOLD, SILVER = "type-gold", "type-silver"


def card(number: str, client: str = "cl-1", type_: str = GOLD, balance: str = "0") -> ImportedCard:
    return ImportedCard(type_, client, "+36201234567", number, Decimal(balance))


def plan(
    rows: list[ImportedCard],
    issued: dict[str, IssuedCard] | None = None,
    per_client: dict[str, int] | None = None,
    max_cards: int = 3,
) -> ImportPlan | ImportRefused:
    return plan_card_import(rows, {GOLD, SILVER}, issued or {}, per_client or {}, max_cards)


def test_new_cards_are_issued_in_the_import_order() -> None:
    assert plan([card("C-1"), card("C-2", "cl-2"), card("C-3", type_=SILVER)]) == ImportPlan(new=[0, 1, 2])


def test_a_card_the_chain_has_already_for_the_same_client_and_type_is_that_card() -> None:
    issued = {"C-1": IssuedCard("id-1", GOLD, "cl-1")}
    assert plan([card("C-1", balance="50"), card("C-2")], issued) == ImportPlan(new=[1], existing={0: "id-1"})


def test_a_number_issued_to_another_client_or_type_refuses_the_import_naming_the_row() -> None:
    for other in (IssuedCard("id-1", GOLD, "cl-9"), IssuedCard("id-1", SILVER, "cl-1")):
        refused = plan([card("C-0"), card("C-1")], {"C-1": other})
        assert isinstance(refused, ImportRefused)
        assert (refused.status, refused.code, refused.field) == (409, "number_taken", "cards.1.number")


def test_an_unknown_card_type_or_a_number_twice_is_a_422_naming_the_row() -> None:
    unknown = plan([card("C-1"), card("C-2", type_="nope")])
    assert isinstance(unknown, ImportRefused)
    assert (unknown.status, unknown.code, unknown.field) == (422, "unknown_card_type", "cards.1.card_type_id")
    twice = plan([card("C-1"), card("C-2"), card("C-1", "cl-2")])
    assert isinstance(twice, ImportRefused)
    assert (twice.status, twice.code, twice.field) == (422, "duplicate_number", "cards.2.number")
    assert "cards.0.number" in twice.message


def test_a_client_past_the_card_limit_counts_the_cards_they_have_and_the_import_s() -> None:
    assert plan([card("C-1"), card("C-2")], per_client={"cl-1": 1}) == ImportPlan(new=[0, 1])
    refused = plan([card("C-1"), card("C-2"), card("C-3", "cl-2")], per_client={"cl-1": 2})
    assert isinstance(refused, ImportRefused)
    assert (refused.status, refused.code, refused.field) == (409, "too_many_cards", "cards.1.client_id")
    # A card already there is not counted twice.
    issued = {"C-1": IssuedCard("id-1", GOLD, "cl-1")}
    assert plan([card("C-1"), card("C-2")], issued, per_client={"cl-1": 2}) == ImportPlan(new=[1], existing={0: "id-1"})
