"""Every field that comes in is bounded (docs/contract.md, "Bounds"), and the bounds keep every event an
input can cause far below what its topic takes.

The walk below reads every request a service takes (each route's body, query and header parameters, and
every inbound topic it consumes) from the running code, so a field added later without a bound fails here:
a text needs a maximum length, a list or a map a maximum number of items, a number a range."""

from __future__ import annotations

import types
import typing
import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import AwareDatetime, BaseModel, ValidationError
from pydantic.fields import FieldInfo

from services.gateway.app import build as gateway
from services.inventory.app import build as inventory
from services.loyalty.app import build as loyalty
from services.memberships.app import build as memberships
from services.memberships.domain import MembershipType
from services.memberships.schemas import MAX_SERVICES, MembershipTypeIn
from services.memberships.usecases.create_type import type_event
from services.notifications import domain as notices
from services.notifications.app import build as notifications
from services.notifications.schemas import TemplateIn
from services.wallet.app import build as wallet
from shared import events, topics
from shared.events.base import MAX_LOCATIONS
from shared.events.inbound import MAX_LINE_AMOUNT, MAX_MEMBERSHIP_UNITS
from shared.http import MAX_BODY_BYTES, MAX_PATH_PARAM, refuse_long_path_params
from shared.runtime import Service
from shared.sales import visit_membership_sales

BUILDS = {
    "memberships": memberships,
    "loyalty": loyalty,
    "inventory": inventory,
    "notifications": notifications,
    "wallet": wallet,
    "gateway": gateway,
}
# Topics whose messages come from outside (booking systems, aggregators): each field bounded like a body.
FROM_OUTSIDE = {*topics.INBOUND, topics.NOTIFICATION_DELIVERY}
# Bodies not walked, and why.
NOT_WALKED = {
    # PATCH /promotions/{id}: any subset of a promotion's fields, merged into the stored one and then
    # validated whole as PromotionIn (every bound of a POST applies), within the 4 MiB body limit.
    ("loyalty", "PATCH", "/v1/chains/{chain_id}/promotions/{promotion_id}"),
    # POST /events: at most 1,000 items, each a topic (one of five) and an event validated as that topic's
    # body (walked below as POST /events/{topic}), within the 4 MiB body limit.
    ("gateway", "POST", "/v1/chains/{chain_id}/events"),
}
# A character that JSON writes as 6 bytes ("\u0001"): the most any character of a valid text costs.
WORST = "\x01"
BOUNDED_TYPES = (bool, uuid.UUID, date, datetime, time, AwareDatetime, type(None))


def _constraints(metadata: typing.Iterable[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for meta in metadata:
        if isinstance(meta, FieldInfo):
            found.update(_constraints(meta.metadata))
            continue
        for name in ("max_length", "le", "lt", "ge", "gt", "max_digits"):
            value = getattr(meta, name, None)
            if value is not None:
                found[name] = value
    return found


def unbounded(tp: Any, path: str, metadata: typing.Iterable[Any] = ()) -> list[str]:
    """The paths under `tp` that take input without a bound."""
    origin = get_origin(tp)
    if origin is Annotated:
        base, *more = get_args(tp)
        return unbounded(base, path, [*metadata, *more])
    if origin in (Union, types.UnionType):
        return [p for arg in get_args(tp) for p in unbounded(arg, path, metadata)]
    c = _constraints(metadata)
    if origin is Literal or tp in BOUNDED_TYPES or (isinstance(tp, type) and issubclass(tp, Enum)):
        return []
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [
            p
            for name, f in tp.model_fields.items()
            for p in unbounded(f.annotation, f"{path}.{f.alias or name}".lstrip("."), f.metadata)
        ]
    if tp is str:
        return [] if "max_length" in c else [f"{path}: text without max_length"]
    if tp in (int, float, Decimal):
        if tp is Decimal and "max_digits" in c:
            return []
        has_range = ("le" in c or "lt" in c) and ("ge" in c or "gt" in c)
        return [] if has_range else [f"{path}: number without a range"]
    if origin in (list, set, frozenset, tuple):
        inner = [p for arg in get_args(tp) if arg is not Ellipsis for p in unbounded(arg, f"{path}.N")]
        return inner + ([] if "max_length" in c else [f"{path}: list without max_length"])
    if origin is dict:
        key, value = get_args(tp)
        inner = unbounded(key, f"{path}.<key>") + unbounded(value, f"{path}.<value>")
        return inner + ([] if "max_length" in c else [f"{path}: map without max_length"])
    return [f"{path}: {tp!r} takes anything"]


def models() -> dict[str, list[type[BaseModel]]]:
    """Every pydantic model of the project, by name (as the OpenAPI document names its schemas)."""
    found: dict[str, list[type[BaseModel]]] = {}
    todo: list[type[BaseModel]] = [BaseModel]
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls.__module__.startswith(("services.", "shared.")) and cls not in found.get(cls.__name__, []):
            found.setdefault(cls.__name__, []).append(cls)
    return found


def refs(schema: dict[str, Any]) -> list[str]:
    if "$ref" in schema:
        return [schema["$ref"].rsplit("/", 1)[-1].removesuffix("-Input")]
    return [r for option in schema.get("anyOf", []) for r in refs(option)]


def unbounded_parameter(schema: dict[str, Any], path: str) -> list[str]:
    """A query or header parameter as the OpenAPI document shows it to integrators."""
    if "anyOf" in schema:
        return [p for option in schema["anyOf"] for p in unbounded_parameter(option, path)]
    kind = schema.get("type")
    if kind == "string" and not (
        {"maxLength", "enum", "const"} & set(schema) or schema.get("format") in ("date-time", "date", "time", "uuid")
    ):
        return [f"{path}: text without maxLength"]
    if kind in ("integer", "number") and not (
        ({"maximum", "exclusiveMaximum"} & set(schema)) and ({"minimum", "exclusiveMinimum"} & set(schema))
    ):
        return [f"{path}: number without a range"]
    if kind in ("array", "object"):
        return [f"{path}: {kind} parameter"]
    return []


def requests(name: str, service: Service) -> list[tuple[str, Any, list[Any]]]:
    """(where, type or parameter schema, metadata) of everything a service takes in: its routes' query and
    header parameters and bodies (from its OpenAPI document), and the topics it consumes from outside."""
    by_name = models()
    found: list[tuple[str, Any, list[Any]]] = []
    for path, operations in service.http.openapi()["paths"].items():
        for method, op in operations.items():
            where = f"{name} {method.upper()} {path}"
            for param in op.get("parameters", []):
                if param["in"] in ("query", "header"):
                    found.append((f"{where} ?{param['name']}", param["schema"], ["parameter"]))
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body is None or (name, method.upper(), path) in NOT_WALKED:
                continue
            assert refs(body), f"{where}: a body that is no model ({body})"
            for ref in refs(body):
                [model] = by_name[ref]  # one model of that name, or the walk cannot tell which
                found.append((f"{where} body", model, []))
    for sub in service.subscriptions:
        if sub.topic in FROM_OUTSIDE:
            found.append((f"{name} consumes {sub.topic}", sub.model, []))
    return found


ALL = [r for name, build in BUILDS.items() for r in requests(name, build())]


def test_the_walk_finds_bodies_parameters_and_inbound_topics() -> None:
    wheres = " | ".join(w for w, _, _ in ALL)
    for expected in (
        "memberships POST /v1/chains/{chain_id}/membership-types body",
        "inventory POST /v1/chains/{chain_id}/operations body",
        "notifications PUT /v1/chains/{chain_id}/templates/{notice_type} body",
        "loyalty PUT /v1/chains/{chain_id}/locations/{location_id}/loyalty-program body",
        "memberships GET /v1/chains/{chain_id}/memberships ?phone",
        "inventory consumes visit.paid",
        "notifications consumes notification.delivery",
    ):
        assert expected in wheres
    assert len(ALL) > 60


@pytest.mark.parametrize(("where", "tp", "metadata"), ALL, ids=[w for w, _, _ in ALL])
def test_every_text_list_and_number_that_comes_in_is_bounded(where: str, tp: Any, metadata: list[Any]) -> None:
    if metadata == ["parameter"]:
        assert unbounded_parameter(tp, where) == []
    else:
        assert unbounded(tp, "", metadata) == []


def test_the_walk_finds_what_has_no_bound() -> None:
    class Loose(BaseModel):
        note: str
        ids: list[str]
        count: int
        tags: dict[str, int] | None = None

    assert unbounded(Loose, "") == [
        "note: text without max_length",
        "ids.N: text without max_length",
        "ids: list without max_length",
        "count: number without a range",
        "tags.<key>: text without max_length",
        "tags.<value>: number without a range",
        "tags: map without max_length",
    ]


def test_every_path_parameter_is_bounded_for_every_route() -> None:
    for build in BUILDS.values():
        app = build().http
        assert any(d.dependency is refuse_long_path_params for d in app.router.dependencies)


# --- the largest valid inputs, and the events they make ------------------------------------------------


def text(n: int, tag: int | str = "") -> str:
    """n characters, each as costly in JSON as a character can be; distinct per tag."""
    head = str(tag)
    return head + WORST * (n - len(head))


def event_bytes(event: BaseModel) -> int:
    return len(event.model_dump_json().encode())


# The largest event must stay below half of what its topic takes (docs/contract.md, "Bounds").
FAR_BELOW = topics.MAX_MESSAGE_BYTES // 2


def largest_type() -> MembershipTypeIn:
    return MembershipTypeIn.model_validate(
        {
            "name": text(200),
            "balance": "split",
            "price": "999999999999.99",
            "services": [
                {"service_id": text(128, i), "category_id": text(128, i), "visits": 100_000}
                for i in range(MAX_SERVICES)
            ],
            "location_ids": [text(128, i) for i in range(MAX_LOCATIONS)],
        }
    )


def test_the_largest_membership_type_event_is_far_below_the_topic_limit() -> None:
    body = largest_type()
    size = event_bytes(type_event(body.to_domain(str(uuid.uuid4()), text(128))))
    assert size < FAR_BELOW, size
    with pytest.raises(ValidationError) as exc:  # one location more is refused, naming the field
        MembershipTypeIn.model_validate({**body.model_dump(), "location_ids": [*body.location_ids, "one-more"]})
    assert [e["loc"] for e in exc.value.errors()] == [("location_ids",)]


def largest_client() -> events.Client:
    return events.Client(id=text(128), phone=text(32), name=text(200))


def test_the_largest_membership_state_event_is_far_below_the_topic_limit() -> None:
    t: MembershipType = largest_type().to_domain(str(uuid.uuid4()), text(128))
    balance = {s.service_id: 100_000 for s in t.services}
    deducted = events.MembershipDeducted(
        chain_id=text(128),
        location_id=text(128),
        membership_id=uuid.uuid4(),
        code=text(32),
        type_name=t.name,
        client=largest_client(),
        visit_id=text(128),
        service_id=text(128),
        units=10_000,
        visits_left=100_000,
        balance=balance,
        service_cost="999999999999.99",
        valid_until=datetime.now(UTC),
        chosen_because=text(200),
    )
    assert event_bytes(deducted) < FAR_BELOW, event_bytes(deducted)


def test_the_largest_visit_and_its_membership_sales_are_far_below_the_topic_limit() -> None:
    visit = events.VisitPaid(
        event_id=text(128),
        occurred_at=datetime.now(UTC),
        chain_id=text(128),
        location_id=text(128),
        visit_id=text(128),
        client=largest_client(),
        loyalty_card_id=text(128),
        bonus_spent=Decimal(0),
        lines=[
            events.VisitLine(
                kind="service",
                item_id=text(128, i),
                category_id=text(128),
                storage_id=text(128),
                quantity=10_000,
                sold=MAX_LINE_AMOUNT,
                paid=MAX_LINE_AMOUNT,
                membership=events.MembershipRef(code=text(32)),
                code=text(32),
            )
            for i in range(events.VisitPaid.model_fields["lines"].metadata[0].max_length)
        ],
    )
    assert event_bytes(visit) < FAR_BELOW, event_bytes(visit)
    # Each unit of its membership lines is a membership.sold, its sale id made from the visit's id.
    visit = visit.model_copy(
        update={
            "lines": [
                line.model_copy(update={"kind": "membership", "quantity": 1})
                for line in visit.lines[:MAX_MEMBERSHIP_UNITS]
            ]
        }
    )
    sold = visit_membership_sales(
        visit.model_copy(
            update={"lines": [line.model_copy(update={"item_id": str(uuid.uuid4())}) for line in visit.lines]}
        )
    )
    assert len(sold) == MAX_MEMBERSHIP_UNITS
    assert max(event_bytes(e) for e in sold) < 10_000


def test_the_largest_categories_event_is_far_below_the_topic_limit() -> None:
    # A program names at most 100 + 100 + 100 + 2 categories of 100 characters (add, inactive, remove,
    # on_status): a client has at most all of them.
    every = [text(100, i) for i in range(302)]
    changed = events.CategoriesChanged(
        chain_id=text(128),
        location_id=text(128),
        client=largest_client(),
        reason=text(64),
        old_categories=every,
        new_categories=every,
        added=every,
        removed=every,
    )
    assert event_bytes(changed) < FAR_BELOW, event_bytes(changed)


# The longest a placeholder's value can be (its source's bound); numbers, dates and reasons are short.
VALUE_MAX = {
    "client_name": 200,
    "location_name": 200,
    "type_name": 200,
    "service_id": 128,
    "visit_id": 128,
    "membership_code": 32,
    "card_number": 64,
    "client_phone": 32,
    "category": 100,
    "categories": 30_200,
    "product_name": 200,
    "storage_id": 128,
    "gift_card_code": 32,
    "holder_name": 200,
    "buyer_name": 200,
    # wallet.payment_rejected: 3 payments named, each "gift card <code 32> <amount 13>: <reason <= 45>"
    "rejected": 340,
}


def test_the_largest_notice_is_far_below_the_topic_limit() -> None:
    longest = TemplateIn.model_fields["text"].metadata[0].max_length
    for kind in notices.KINDS.values():
        # The template that grows the most: the placeholder with the longest value per character, repeated.
        name = max(kind.placeholders, key=lambda p: VALUE_MAX.get(p, 64) / (len(p) + 2))
        template = ("{" + name + "}") * (longest // (len(name) + 2))
        values = {p: text(VALUE_MAX.get(p, 64)) for p in kind.placeholders}
        notice = events.Notice(
            notification_id=uuid.uuid4(),
            occurred_at=datetime.now(UTC),
            chain_id=text(128),
            location_id=text(128),
            channel="chatbot",
            to=text(128),
            client_id=text(128),
            type=kind.type,
            text=notices.render(template, values),
            locale="en",
            source_event_id=text(128),
        )
        assert event_bytes(notice) < FAR_BELOW, (kind.type, event_bytes(notice))


def test_a_body_within_the_bounds_is_far_below_the_body_limit() -> None:
    # The largest membership type, each character 4 bytes of UTF-8 as a client sends it.
    body = largest_type().model_dump_json().replace("\\u0001", "\U0001f600").encode()
    assert len(body) < MAX_BODY_BYTES // 2, len(body)
    assert MAX_PATH_PARAM == 128


# --- the work one message may cause --------------------------------------------------------------------


def paid_visit(*lines: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": "e-1",
        "occurred_at": "2026-03-01T10:00:00+00:00",
        "chain_id": "ch-1",
        "location_id": "l",
        "visit_id": "v-1",
        "client": {"id": "cl-1"},
        "lines": list(lines),
    }


def membership_line(quantity: int) -> dict[str, Any]:
    return {"kind": "membership", "item_id": str(uuid.uuid4()), "quantity": quantity, "sold": "1", "paid": "1"}


def test_a_visit_sells_at_most_100_memberships() -> None:
    assert len(events.VisitPaid.model_validate(paid_visit(*[membership_line(50)] * 2)).lines) == 2
    with pytest.raises(ValidationError) as exc:
        events.VisitPaid.model_validate(paid_visit(membership_line(101)))
    [error] = exc.value.errors()
    assert error["loc"] == ("lines", 0) and "at most 100 memberships" in error["msg"]
    with pytest.raises(ValidationError) as exc:
        events.VisitPaid.model_validate(paid_visit(*[membership_line(60)] * 2))
    [error] = exc.value.errors()
    assert error["loc"] == ("lines",) and "sell 120 memberships" in error["msg"]
    # Services and products keep their quantity of up to 10,000: they make one deduction or one line each.
    service = {**membership_line(10_000), "kind": "service"}
    visit = events.VisitPaid.model_validate(paid_visit(service, {**service, "kind": "product"}))
    assert [line.quantity for line in visit.lines] == [10_000, 10_000]


def test_inventory_counts_what_an_operation_or_a_visit_would_make_before_making_it() -> None:
    from services.inventory import domain

    assert domain.units_problem([60, 40], 100) is None
    assert domain.units_problem([60, 41], 100) == "101 memberships sold at once; at most 100 per visit or operation"
    bom = [
        domain.BillOfMaterials(f"svc-{s}", "", "st-1", tuple(domain.Line(f"p-{s}-{i}", Decimal(1)) for i in range(50)))
        for s in range(200)
    ]
    plan = domain.consumption({f"svc-{s}": 10_000 for s in range(200)}, [], bom, "loc-1", None)
    assert (
        plan.size_problem(domain.MAX_OPERATION_LINES)
        == "the consumables move 10000 balances; a visit moves at most 500"
    )
    assert domain.consumption({"svc-0": 1}, [], bom, "loc-1", None).size_problem(500) is None


def test_a_sale_id_is_an_id_even_for_the_longest_visit_id() -> None:
    from shared.sales import sale_id

    assert sale_id("visit:v-77", 2, 0) == "inventory:visit:v-77:2:0"  # as before: replays name the same sale
    long = sale_id("visit:" + "v" * 128, 199, 99)
    assert len(long) <= 128 and long.startswith("inventory:visit:sha256-") and long.endswith(":199:99")
    assert long != sale_id("visit:" + "v" * 127 + "w", 199, 99)
