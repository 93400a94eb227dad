"""`visit.paid`'s line `discount` and visit `channel` (issue 18), and the two discount events: bounded,
refused naming the field, and left out of the serialization when unset (a message sent before them is,
redelivered, the same message: its inbox digest unchanged)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pydantic import ValidationError

from shared import topics
from shared.events import Client, DiscountApplied, DiscountRefused, RefusedDiscount, VisitPaid
from shared.events.inbound import MAX_LINES
from shared.events.wire import EXAMPLES

PROMOTION_ID = "4d5e6f70-8192-4a3b-9c4d-5e6f70819203"


def visit(**line_fields: Any) -> dict[str, Any]:
    v = copy.deepcopy(EXAMPLES[topics.VISIT_PAID])
    v["lines"][1].update(line_fields)  # the product line: sold 300
    return v


def test_a_line_says_the_discount_it_applied_and_the_visit_its_channel() -> None:
    d = {"source": "promotion", "promotion_id": PROMOTION_ID, "percent": "10", "amount": "30.00"}
    e = VisitPaid.model_validate({**visit(discount=d), "channel": "online"})
    assert e.channel == "online"
    line = e.lines[1]
    assert line.discount is not None and (str(line.discount.promotion_id), line.discount.amount) == (PROMOTION_ID, 30)
    personal = VisitPaid.model_validate(visit(discount={"source": "personal", "percent": "5", "amount": "15"}))
    assert personal.lines[1].discount is not None and personal.channel == "desk"


def test_unset_they_are_left_out_so_an_older_message_serializes_as_before() -> None:
    before = EXAMPLES[topics.VISIT_PAID]
    e = VisitPaid.model_validate(before)
    wire = json.loads(e.model_dump_json())
    assert "channel" not in wire and all("discount" not in line for line in wire["lines"])
    online = VisitPaid.model_validate({**before, "channel": "online"})
    assert json.loads(online.model_dump_json())["channel"] == "online"


@pytest.mark.parametrize(
    ("discount", "field"),
    [
        ({"source": "promotion", "percent": "10", "amount": "30"}, "promotion_id"),
        ({"source": "personal", "promotion_id": PROMOTION_ID, "percent": "10", "amount": "30"}, "promotion_id"),
        ({"source": "promotion", "promotion_id": "not-a-uuid", "percent": "10", "amount": "30"}, "promotion_id"),
        ({"source": "staff", "percent": "10", "amount": "30"}, "source"),
        ({"source": "personal", "percent": "0", "amount": "0"}, "percent"),
        ({"source": "personal", "percent": "100.01", "amount": "30"}, "percent"),
        ({"source": "personal", "percent": "10", "amount": "-1"}, "amount"),
        ({"source": "personal", "percent": "10", "amount": "300.01"}, "more than the line's sold"),
    ],
)
def test_a_bad_discount_is_refused_naming_the_field(discount: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        VisitPaid.model_validate(visit(discount=discount))


def test_a_channel_other_than_desk_or_online_is_refused() -> None:
    with pytest.raises(ValidationError, match="channel"):
        VisitPaid.model_validate({**EXAMPLES[topics.VISIT_PAID], "channel": "phone"})


def test_the_discount_events_parse_their_examples() -> None:
    applied = DiscountApplied.model_validate(EXAMPLES[topics.LOYALTY_DISCOUNT_APPLIED])
    assert applied.amount == sum(line.amount for line in applied.lines)
    refused = DiscountRefused.model_validate(EXAMPLES[topics.LOYALTY_DISCOUNT_REFUSED])
    assert refused.lines[0].reason == "not_online"


def test_the_largest_discount_event_is_far_below_the_topic_limit() -> None:
    # A visit of MAX_LINES lines, each with the longest item id (each character as costly in JSON as one
    # can be) and a discount: one loyalty.discount_refused names them all.
    worst = "\x01"  # escaped as 6 bytes in JSON
    lines = [
        RefusedDiscount(
            line=i,
            item_id=str(i) + worst * 124,
            source="promotion",
            promotion_id=PROMOTION_ID,  # type: ignore[arg-type]
            card_id=PROMOTION_ID,  # type: ignore[arg-type]
            percent="100",  # type: ignore[arg-type]
            amount="4999999999.99",  # type: ignore[arg-type]
            reason="percent_exceeds_offer",
        )
        for i in range(MAX_LINES)
    ]
    client = Client(id=worst * 128, phone="+" + "9" * 31, name=worst * 200)
    event = DiscountRefused(
        chain_id=worst * 128, location_id=worst * 128, visit_id=worst * 128, client=client, lines=lines
    )
    size = len(event.model_dump_json().encode())
    assert size < topics.MAX_MESSAGE_BYTES // 2, size
