"""A card type's promotions set from its own side: what changes on the promotions, and what is refused
(services/loyalty/domain/promotion_links.py)."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from services.loyalty.bonus_schemas import CardTypeIn, CardTypePatch
from services.loyalty.domain import MAX_LIVE_PROMOTIONS
from services.loyalty.domain.promotion_links import (
    MAX_CARD_TYPES_PER_PROMOTION,
    MAX_PROMOTIONS_PER_CARD_TYPE,
    Linked,
    Refusal,
    Relink,
    relink,
)

T = "type-t"


def found(*promotions: Linked) -> dict[str, Linked]:
    return {p.id: p for p in promotions}


def test_the_set_is_replaced_adding_and_taking_the_card_type() -> None:
    on_both = Linked("p1", ("other", T), False)
    elsewhere = Linked("p2", ("other",), False)
    archived = Linked("p3", ("other",), True)
    change = relink(T, ["p3", "p2"], found(on_both, elsewhere, archived))
    assert change == Relink(attach=("p2", "p3"), detach=("p1",), promotion_ids=("p2", "p3"))  # made order


def test_promotions_already_attached_are_left_as_they_are() -> None:
    assert relink(T, ["p1"], found(Linked("p1", (T,), False))) == Relink((), (), ("p1",))
    assert relink(T, [], {}) == Relink((), (), ())
    assert relink(T, ["p1", "p1"], found(Linked("p1", ("other",), False))) == Relink(("p1",), (), ("p1",))


def test_an_unknown_promotion_is_named_and_nothing_else_is_checked() -> None:
    refused = relink(T, ["p1", "ghost"], found(Linked("p1", (T,), False)))
    assert isinstance(refused, Refusal)
    assert (refused.code, refused.unknown) == ("unknown_promotion", True) and "ghost" in refused.message


def test_a_promotion_on_this_card_type_only_cannot_be_taken_off_it() -> None:
    refused = relink(T, [], found(Linked("p1", (T,), True), Linked("p2", (T, "other"), False)))
    assert isinstance(refused, Refusal)
    assert (refused.code, refused.unknown) == ("promotion_needs_card_type", False) and "p1" in refused.message
    assert "p2" not in refused.message


def test_a_promotion_on_the_most_card_types_takes_no_more() -> None:
    full = Linked("p1", tuple(f"t{i}" for i in range(MAX_CARD_TYPES_PER_PROMOTION)), False)
    refused = relink(T, ["p1"], found(full))
    assert isinstance(refused, Refusal) and refused.code == "too_many_card_types"
    almost = Linked("p1", tuple(f"t{i}" for i in range(MAX_CARD_TYPES_PER_PROMOTION - 1)), False)
    assert relink(T, ["p1"], found(almost)) == Relink(("p1",), (), ("p1",))


def test_live_promotions_are_capped_archived_ones_are_not() -> None:
    live = [Linked(f"p{i}", ("other",), False) for i in range(MAX_LIVE_PROMOTIONS)]
    archived = [Linked(f"a{i}", ("other",), True) for i in range(50)]
    ok = relink(T, [p.id for p in live + archived], found(*live, *archived))
    assert isinstance(ok, Relink) and len(ok.promotion_ids) == MAX_LIVE_PROMOTIONS + 50
    one_more = Linked("extra", ("other",), False)
    refused = relink(T, [p.id for p in [*live, one_more]], found(*live, one_more))
    assert isinstance(refused, Refusal) and refused.code == "too_many_promotions"


def test_a_card_type_body_takes_promotion_ids_within_their_bound() -> None:
    ids = [str(uuid.uuid4()) for _ in range(MAX_PROMOTIONS_PER_CARD_TYPE)]
    assert len(CardTypeIn.model_validate({"name": "Gold", "promotion_ids": ids}).promotion_ids) == len(ids)
    assert CardTypeIn.model_validate({"name": "Gold"}).promotion_ids == []
    assert CardTypePatch.model_validate({"name": "Gold"}).promotion_ids is None  # left out: left as it is
    for bad, field in (([*ids, str(uuid.uuid4())], ("promotion_ids",)), (["not-a-uuid"], ("promotion_ids", 0))):
        with pytest.raises(ValidationError) as refused:
            CardTypePatch.model_validate({"promotion_ids": bad})
        assert refused.value.errors()[0]["loc"] == field
