"""The memberships a batch works on (services/memberships/domain/ledger.py): what a later record of the batch
finds of what the earlier ones did. Pure."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from services.memberships.domain import Membership, Status, TypeService, deduct
from services.memberships.domain.ledger import Ledger, code_key
from tests.unit.test_membership_domain import split_type

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def held(
    code: str | None, client_id: str = "cl-5", status: Status = Status.ACTIVE, mid: str | None = None
) -> Membership:
    return Membership(
        id=mid or str(uuid.uuid4()),
        chain_id="ch-1",
        type_id="type-split",
        code=code,
        client_id=client_id,
        phone="+36201234567",
        location_id="loc-1",
        status=status,
        balance={"svc-massage": 2},
        price=Decimal("8000"),
        sold_at=AT,
    )


def test_codes_compare_case_insensitively_letter_by_letter() -> None:
    assert code_key("ab-1") == code_key("AB-1") == "AB-1"
    assert code_key("straße") == "STRAßE"  # "ß" has no one-letter capital: it stays, as PostgreSQL's upper() leaves it


def test_a_membership_is_found_by_its_id_in_any_spelling_or_by_its_code() -> None:
    m = held("Gift-1")
    ledger = Ledger([m, held(None)])
    assert ledger.find(m.id) is m
    assert ledger.find(m.id.upper()) is m and ledger.find(uuid.UUID(m.id).hex) is m
    assert ledger.find("GIFT-1") is m and ledger.find("gift-1") is m
    assert ledger.find("gift-2") is None and ledger.find(str(uuid.uuid4())) is None
    assert ledger.code_taken("GIFT-1") and not ledger.code_taken("gift-2")


def test_a_code_that_looks_like_an_id_is_found_by_the_code_when_no_id_matches() -> None:
    code = str(uuid.uuid4())
    m = held(code)
    assert Ledger([m]).find(code) is m


def test_a_later_record_sees_what_an_earlier_one_left() -> None:
    t = split_type(services=(TypeService("svc-massage", None, 2),))
    m = held("A-1")
    ledger = Ledger([m])
    first = deduct(
        ledger.find("A-1"),
        t,
        service_id="svc-massage",
        location_id="loc-1",
        units=1,  # type: ignore[arg-type]
        at=AT,
        phone=None,
    )
    ledger.put(first.membership)  # type: ignore[union-attr]
    second = deduct(
        ledger.find("a-1"),
        t,
        service_id="svc-massage",
        location_id="loc-1",
        units=1,  # type: ignore[arg-type]
        at=AT,
        phone=None,
    )
    assert second.membership.balance == {"svc-massage": 0}  # type: ignore[union-attr]
    ledger.put(second.membership)  # type: ignore[union-attr]
    assert ledger.usable("cl-5") == []  # exhausted: no longer one the client may pay with


def test_a_clients_usable_memberships_are_the_sold_and_active_ones_in_id_order() -> None:
    ids = sorted(str(uuid.uuid4()) for _ in range(4))
    ms = [
        held("C-3", mid=ids[3]),
        held("C-1", mid=ids[1], status=Status.SOLD),
        held("C-0", mid=ids[0]),
        held("C-2", mid=ids[2], status=Status.FROZEN),
        held("X-1", client_id="cl-6"),
    ]
    ledger = Ledger(ms)
    assert [m.code for m in ledger.usable("cl-5")] == ["C-0", "C-1", "C-3"]
    ledger.put(replace(ms[2], status=Status.EXPIRED))
    assert [m.code for m in ledger.usable("cl-5")] == ["C-1", "C-3"]
    issued = held("N-1", mid="ffffffff-ffff-4fff-bfff-ffffffffffff", status=Status.SOLD)
    ledger.put(issued)  # sold in the batch: usable by the records after it
    assert ledger.usable("cl-5")[-1] is issued and ledger.find("n-1") is issued
