"""A chain worth fuzzing, for tests/integration/test_http_fuzz.py, and the ids schemathesis draws from.

`seed` builds it as a back office and a booking system would: membership types (one archived), memberships
sold on `membership.sold` (one frozen), a deduction policy; a loyalty program, a card type, a promotion,
cards with transactions; storages, a category, products, operations of every type, a bill of materials,
inventory settings; notification settings (chain and location), a template, an opt-out; gift card types
(one archived), a gift card sold on `gift_card.sold`, a deposit, credit allowed; then paid visits
on the topics, whose effects (deductions, accruals, sales, notices) it waits for.

`dictionaries` reads back, per service, the ids that now exist (and the next-page cursors of its lists),
and `config` writes the schemathesis.toml that makes the fuzz draw from them: a generated request names
a real membership, card, product or notice type most of the time, so it reaches the handler's code
instead of stopping at a 404.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from deploy import scenario
from deploy.kafka_io import Kafka
from deploy.scenario import LOCATION, LOTION, MASSAGE, OIL, ROOM, SHELF, Plan
from shared import topics
from tests.integration.conftest import Chain, eventually
from tests.integration.helpers import MASSAGE_TYPE

PLAN = Plan(clients=3, tag="fz")
VISITS = 6  # two per client: deductions, accruals, a spend, sales and write-offs, notices
FROZEN = "FZ-FROZEN"  # a split membership, frozen: its unfreeze can succeed
LOCATIONS = [LOCATION, "loc-2"]
SERVICE_IDS = [MASSAGE, "svc-hair"]
# The document shows money and quantities as a number or any string; the services take decimal strings
# within bounds (14 digits, 2 or 3 decimals): the fuzz draws these too, the largest ones included.
MONEY = ["0", "0.01", "1", "99.99", "300", "8000.00", "999999999999.99"]
PERCENTS = ["0", "0.5", "3", "12.25", "100"]
QUANTITIES = ["0.001", "1", "2.5", "30", "10000", "1000000"]

# How often a parameter bound to a dictionary takes one of its values (else what the schema generates).
PATH_PROBABILITY = 0.85
QUERY_PROBABILITY = 0.5
BODY_PROBABILITY = 0.5
# The examples phase sends each example of a parameter; a few are enough (the fuzzing phase draws from all).
PARAMETER_EXAMPLES = 3


def _ok(r: httpx.Response) -> Any:
    assert r.status_code < 300, f"seed: {r.request.method} {r.request.url} answered {r.status_code}: {r.text[:500]}"
    return r.json() if r.content else None


class Seeder:
    """Sends the seed's requests and keeps each body it sent under its operation (`POST /v1/chains/{chain_id}
    /membership-types`): they become the examples of their operations in the document schemathesis reads,
    so its examples phase sends valid requests and its coverage phase mutates them one field at a time."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.bodies: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))

    async def send(
        self,
        service: str,
        method: str,
        route: str,
        body: Any = None,
        admin: bool = False,
        example: Any = None,
        **path: str,
    ) -> Any:
        """Sends `body`; keeps `example` (default: the body) as an example of the operation."""
        client = self.chain.admin(service) if admin else self.chain.client(service)
        async with client as http:
            r = await http.request(method, route.format(**path), json=body)
        if body is not None:
            self.bodies[service][f"{method} /v1/chains/{{chain_id}}{route}"].append(example or body)
        return _ok(r)

    async def create(self, service: str, route: str, body: dict[str, Any]) -> Any:
        """A POST whose `id` the seed chooses; its example has none (a new one each time it is sent: an id of
        the seed's own would make every case of the coverage phase answer 409 `..._exists`)."""
        return await self.send(service, "POST", route, body, example={k: v for k, v in body.items() if k != "id"})


async def seed(chain: Chain, kafka: Kafka) -> Seeder:
    """Builds the chain (see the module's docstring); answers with the bodies it sent."""
    s = Seeder(chain)
    ms, ly, inv, nt = "memberships", "loyalty", "inventory", "notifications"
    overall = await s.send(ms, "POST", "/membership-types", scenario.MEMBERSHIP_TYPE)
    split = await s.send(ms, "POST", "/membership-types", MASSAGE_TYPE)
    spare = await s.send(ms, "POST", "/membership-types/{type_id}/duplicate", type_id=split["id"])
    await s.send(
        ms, "PATCH", "/membership-types/{type_id}", {"name": "Spare pass", "online_sale": False}, type_id=spare["id"]
    )
    await s.send(ms, "POST", "/membership-types/{type_id}/archive", type_id=spare["id"])
    await s.send(
        ms,
        "PUT",
        "/locations/{location_id}/deduction-policy",
        {"no_show": True, "late_cancel_hours": 24, "services": {MASSAGE: {"no_show": True}}},
        location_id=LOCATION,
    )
    sold_at = (scenario.START - timedelta(days=1)).isoformat()
    sales = [
        chain.event(
            sale_id=f"sale-fz-{i}",
            occurred_at=sold_at,
            membership_type_id=overall["id"],
            code=PLAN.code(i),
            client=PLAN.client(i),
            price=overall["price"],
        )
        for i in range(PLAN.clients)
    ]
    sales.append(
        chain.event(
            sale_id="sale-fz-frozen",
            occurred_at=sold_at,
            membership_type_id=split["id"],
            code=FROZEN,
            client=PLAN.client(0),
            price=split["price"],
        )
    )
    for sale in sales:
        await kafka.publish(topics.MEMBERSHIP_SOLD, sale, key=sale["client"]["id"])

    await s.send(ly, "PUT", "/locations/{location_id}/loyalty-program", scenario.PROGRAM, location_id=LOCATION)
    card_type = await s.send(ly, "POST", "/card-types", {"name": "Club card", "location_ids": [LOCATION]})
    await s.send(
        ly, "PATCH", "/card-types/{type_id}", {"name": "Club card", "location_ids": LOCATIONS}, type_id=card_type["id"]
    )
    promotion = await s.send(ly, "POST", "/promotions", {**scenario.PROMOTION, "card_type_ids": [card_type["id"]]})
    await s.send(ly, "PATCH", "/promotions/{promotion_id}", {"burn_notice_days": 7}, promotion_id=promotion["id"])
    issued = (scenario.START - timedelta(days=1)).isoformat()
    for i in range(PLAN.clients):
        c = PLAN.client(i)
        await s.send(
            ly,
            "POST",
            "/cards",
            {
                "card_type_id": card_type["id"],
                "client_id": c["id"],
                "phone": c["phone"],
                "number": PLAN.card_number(i),
                "issued_at": issued,
            },
        )  # before the scenario's visits: they earn
    await s.send(
        ly,
        "POST",
        "/cards/{card_id}/transactions",
        {"kind": "accrue", "amount": "100", "reason": "welcome"},
        card_id=PLAN.card_number(0),
    )
    c = PLAN.client(1)
    imported = {
        "card_type_id": card_type["id"],
        "client_id": c["id"],
        "phone": c["phone"],
        "number": "FZ-IMPORT",
        "balance": "10",
    }
    await s.send(ly, "POST", "/cards/import", {"cards": [imported]})
    referral = {"enabled": True, "invitee_discount_percent": "10", "referrer_cashback": "100"}
    await s.send(ly, "PUT", "/referral-program", {**referral, "card_type_id": card_type["id"]})

    category = await s.send(inv, "POST", "/categories", {"name": "Oils"})
    for storage, name in ((SHELF, "Shop shelf"), (ROOM, "Treatment room")):
        await s.create(inv, "/storages", {"id": storage, "location_id": LOCATION, "name": name})
    await s.create(
        inv,
        "/products",
        {
            "id": OIL,
            "name": "Argan oil",
            "unit": "pcs",
            "sale_price": "300",
            "cost_price": "120",
            "category_id": category["id"],
            "min_stock": "5",
        },
    )
    await s.create(
        inv,
        "/products",
        {
            "id": LOTION,
            "name": "Massage lotion",
            "unit": "ml",
            "sale_price": "1",
            "cost_price": "0.20",
            "barcode": "4006381333931",
        },
    )
    await s.send(inv, "PATCH", "/products/{product_id}", {"sale_price": "320", "min_stock": "4"}, product_id=OIL)
    for storage, product in ((SHELF, OIL), (ROOM, LOTION), (SHELF, LOTION)):
        await s.send(
            inv,
            "POST",
            "/operations",
            {
                "type": "arrival",
                "storage_id": storage,
                "user": "seed",
                "lines": [{"product_id": product, "quantity": 10_000}],
            },
        )
    await s.send(
        inv,
        "POST",
        "/operations",
        {
            "type": "relocation",
            "storage_id": SHELF,
            "to_storage_id": ROOM,
            "lines": [{"product_id": LOTION, "quantity": 100}],
        },
    )
    await s.send(
        inv,
        "POST",
        "/operations",
        {"type": "write_off", "storage_id": SHELF, "comment": "broken", "lines": [{"product_id": OIL, "quantity": 1}]},
    )
    await s.send(
        inv,
        "POST",
        "/operations",
        {
            "type": "sale",
            "storage_id": SHELF,
            "client": PLAN.client(1),
            "lines": [{"product_id": OIL, "quantity": 2, "price": "290"}],
        },
    )
    await s.send(
        inv,
        "PUT",
        "/services/{service_id}/bill-of-materials",
        {"storage_id": ROOM, "items": [{"product_id": LOTION, "quantity": 30}]},
        service_id=MASSAGE,
    )
    await s.send(
        inv,
        "PUT",
        "/locations/{location_id}/inventory-settings",
        {"consumables_on": "arrived", "consumables_storage_id": ROOM},
        location_id=LOCATION,
    )

    on = {t: {"sms": True} for t in scenario.NOTICES_ON}
    await s.send(nt, "PUT", "/notification-settings", {"time_zone": "UTC", "types": on})
    await s.send(
        nt,
        "PUT",
        "/locations/{location_id}/notification-settings",
        {
            "time_zone": "Europe/Budapest",
            "location_name": "Centrum",
            "types": on,
            "locale": "en",
            "send_window": {"from": "08:00", "to": "21:00"},
            "administrator": {"phone": "+36301112222"},
        },
        location_id=LOCATION,
    )
    await s.send(
        nt,
        "PUT",
        "/templates/{notice_type}",
        {"locale": "en", "text": "{balance} left on {membership_code}"},
        notice_type="membership.deducted",
    )
    await s.send(
        nt,
        "PUT",
        "/templates/{notice_type}",
        {"locale": "hu", "text": "Kedves {client_name}!"},
        notice_type="membership.expired",
    )
    await s.send(nt, "DELETE", "/templates/{notice_type}?locale=hu", notice_type="membership.expired")
    await s.send(
        nt,
        "PUT",
        "/clients/{client_id}/notification-opt-out",
        {"sms": True, "chatbot": False},
        client_id=PLAN.client(2)["id"],
    )

    async def issued() -> int:
        return sum(1 for m in await s.send(ms, "GET", "/memberships?limit=1000") if m["code"])

    await eventually(issued, lambda n: n == len(sales), timeout=60, what="the seed's memberships")
    today = datetime.now(UTC).date()
    await s.send(
        ms,
        "POST",
        "/memberships/{code_or_id}/freeze",
        {"from": (today + timedelta(days=30)).isoformat(), "days": 2, "reason": "holiday"},
        code_or_id=FROZEN,
    )
    await s.send(ms, "POST", "/memberships/{code_or_id}/unfreeze", {"reason": "back early"}, code_or_id=FROZEN)
    await s.send(
        ms, "PATCH", "/memberships/{code_or_id}", {"balance": {MASSAGE: 12}, "reason": "goodwill"}, code_or_id=FROZEN
    )
    await s.send(
        ms, "POST", "/memberships/{code_or_id}/freeze", {"from": today.isoformat(), "days": 7}, code_or_id=FROZEN
    )
    await s.send(
        ms,
        "POST",
        "/memberships/import",
        {
            "memberships": [
                {
                    "sale_id": "sale-fz-import",
                    "membership_type_id": overall["id"],
                    "code": "auto",
                    "client": PLAN.client(1),
                    "price": overall["price"],
                    "location_id": LOCATION,
                    "sold_at": sold_at,
                }
            ]
        },
    )
    await scenario.publish(kafka, scenario.visits(PLAN, chain.id, VISITS))

    async def effects() -> tuple[int, int, int]:
        ops = await s.send(inv, "GET", "/operations?limit=1000")
        cards = [await s.send(ly, "GET", "/cards/{card_id}", card_id=PLAN.card_number(i)) for i in range(PLAN.clients)]
        return (
            sum(op["source"].startswith("visit:") for op in ops),
            sum(len(c.get("transactions") or []) for c in cards),
            len(await s.send(nt, "GET", "/notifications?limit=1000")),
        )

    await eventually(
        effects, lambda e: e[0] >= VISITS and e[1] > VISITS and e[2] > 0, timeout=90, what="the seed's visits consumed"
    )
    await s.send(
        ly, "POST", "/clients/{client_id}/loyalty/recalculate?location_id=loc-1", client_id=PLAN.client(0)["id"]
    )
    await _seed_wallet(s, chain, kafka)
    for service in (ms, ly, "wallet"):  # the checkout quote's parts: a client with a membership, a card, a gift card
        await s.send(service, "POST", "/checkout/quote-part", quote_part())
    as_of = {"as_of": datetime.now(UTC).isoformat()}
    for service in (ms, ly, nt):
        for job in await _jobs(chain, service):
            await s.send(service, "POST", "/jobs/{job}/run", as_of, admin=True, job=job)
    return s


def quote_part() -> dict[str, Any]:
    """What the gateway asks each part of the checkout quote: client 0's visit, the membership named."""
    return {
        "location_id": LOCATION,
        "client": PLAN.client(0),
        "occurred_at": datetime.now(UTC).isoformat(),
        "loyalty_card_id": PLAN.card_number(0),
        "lines": [
            {"kind": "service", "item_id": MASSAGE, "category_id": "cat-body", "quantity": 1, "sold": "2000",
             "membership": {"code": PLAN.code(0)}},
            {"kind": "product", "item_id": OIL, "quantity": 1, "sold": "300"},
        ],
        "covered_lines": [0],
    }  # fmt: skip


GIFT_CARD = "FZ-GIFT"  # a multiple write-off card of client 0
GIFT_CARD_TYPE: dict[str, Any] = {
    "name": "Spa 10000",
    "par_value": "10000",
    "write_off": "multiple",
    "allow_without_code": True,
    "location_ids": LOCATIONS,
    "limits": {"applies_to": "some_services_and_products", "service_ids": [MASSAGE], "category_ids": []},
    "validity": {"kind": "period", "unit": "year", "count": 1},
}


async def _seed_wallet(s: Seeder, chain: Chain, kafka: Kafka) -> None:
    """Gift card types (one archived), a card sold on `gift_card.sold`, a deposit, credit allowed."""
    wl, client = "wallet", PLAN.client(0)
    kept = await s.send(wl, "POST", "/gift-card-types", GIFT_CARD_TYPE)
    spare = await s.send(wl, "POST", "/gift-card-types", {**GIFT_CARD_TYPE, "name": "Single", "write_off": "single"})
    await s.send(wl, "PUT", "/gift-card-types/{type_id}", {**GIFT_CARD_TYPE, "name": "Spare"}, type_id=spare["id"])
    await s.send(wl, "POST", "/gift-card-types/{type_id}/archive", type_id=spare["id"])
    await s.send(wl, "PUT", "/wallet-settings", {"allow_credit": True})
    await s.send(wl, "PUT", "/clients/{client_id}/account", {"credit_limit": "500"}, client_id=client["id"])
    sale = chain.event(
        sale_id="sale-fz-gift", gift_card_type_id=kept["id"], code=GIFT_CARD, client=client, price="9000"
    )
    await kafka.publish(topics.GIFT_CARD_SOLD, sale, key=client["id"])
    deposit = chain.event(deposit_id="dep-fz-1", client=client, amount="1000", method="cash")
    await kafka.publish(topics.ACCOUNT_DEPOSIT, deposit, key=client["id"])

    async def stored() -> tuple[int, str]:
        cards = await s.send(wl, "GET", "/clients/{client_id}/gift-cards", client_id=client["id"])
        return len(cards), (await s.send(wl, "GET", "/clients/{client_id}/account", client_id=client["id"]))["balance"]

    await eventually(stored, lambda found: found == (1, "1000.00"), timeout=60, what="the seed's gift card and deposit")


async def _cursors(http: httpx.AsyncClient, paths: list[str]) -> list[str]:
    """The next-page cursor of each list (one item a page), where it has a second page."""
    found = []
    for path in paths:
        r = await http.get(path, params={"limit": 1})
        _ok(r)
        if "x-next-cursor" in r.headers:
            found.append(r.headers["x-next-cursor"])
    return found


async def _jobs(chain: Chain, service: str) -> list[str]:
    """The service's jobs, as its refusal of an unknown one lists them (none: the service has no jobs route)."""
    async with chain.admin(service) as http:
        r = await http.post("/jobs/no-such-job/run")
    assert r.status_code == 404, r.text
    _, listed, names = r.json()["message"].partition("jobs:")
    return [j.strip() for j in names.split(",") if j.strip()] if listed else []


async def dictionaries(chain: Chain, service: str) -> dict[str, list[str]]:
    """The values that exist now in `service` for the chain, by the name of the dictionary they fill."""
    clients = [PLAN.client(i) for i in range(PLAN.clients)]
    base: dict[str, list[str]] = {
        "location_ids": LOCATIONS,
        "client_ids": [c["id"] for c in clients],
        "phones": [c["phone"] for c in clients],
        "service_ids": SERVICE_IDS,
        "jobs": await _jobs(chain, service),
        "money": MONEY,
        "percents": PERCENTS,
        "quantities": QUANTITIES,
    }
    async with chain.client(service) as http:

        async def ids(path: str, *fields: str, first: tuple[str, ...] = (), **params: Any) -> list[str]:
            """The values of `fields` in the list at `path`, those of `first` first (the examples phase takes
            the first few: the seed's most useful ones, e.g. a membership whose type allows editing)."""
            rows = _ok(await http.get(path, params={"limit": 1000, **params}))
            values = {str(row[f]) for row in rows for f in fields if row.get(f) is not None}
            return [v for v in first if v in values] + sorted(values - set(first))

        if service == "memberships":
            lists = ["/membership-types", "/memberships", "/reports/memberships"]
            extra = {
                "type_ids": await ids("/membership-types", "id")
                + await ids("/membership-types", "id", archived="true"),
                "memberships": await ids("/memberships", "id", "code", first=(FROZEN, PLAN.code(0))),
            }
        elif service == "loyalty":
            lists = ["/card-types", "/promotions", "/cards"]
            extra = {
                "type_ids": await ids("/card-types", "id"),
                "promotion_ids": await ids("/promotions", "id"),
                "cards": await ids("/cards", "id", "number", first=(PLAN.card_number(0),)),
            }
        elif service == "inventory":
            lists = ["/storages", "/categories", "/products", "/operations", "/stock"]
            operations = _ok(await http.get("/operations", params={"limit": 1000}))
            extra = {
                "storage_ids": await ids("/storages", "id", first=(SHELF, ROOM)),
                "product_ids": await ids("/products", "id", all="true", first=(OIL, LOTION)),
                "categories": await ids("/categories", "id", "name"),
                "operation_ids": sorted(str(op["id"]) for op in operations),
                "sources": sorted({op["source"] for op in operations}),
            }
        elif service == "wallet":
            lists = ["/gift-card-types", f"/clients/{PLAN.client(0)['id']}/account/movements"]
            extra = {
                "type_ids": await ids("/gift-card-types", "id") + await ids("/gift-card-types", "id", archived="true"),
                "gift_cards": await ids(
                    f"/clients/{PLAN.client(0)['id']}/gift-cards", "id", "code", first=(GIFT_CARD,)
                ),
            }
        else:
            lists = ["/notifications", "/templates"]
            extra = {"notice_types": await ids("/templates", "type", first=("membership.deducted",))}
        extra["cursors"] = await _cursors(http, lists)
    found = {**base, **extra}
    empty = [name for name, values in found.items() if not values and name not in ("cursors", "jobs")]
    assert not empty, f"seed: nothing to fuzz with for {', '.join(empty)} in {service}"
    return found


# Which parameter (path, query, header or body field) draws from which dictionary, per service.
BINDINGS: dict[str, dict[str, tuple[str, float]]] = {
    "memberships": {
        "body.price": ("money", BODY_PROBABILITY),
        "path.type_id": ("type_ids", PATH_PROBABILITY),
        "path.code_or_id": ("memberships", PATH_PROBABILITY),
        "path.location_id": ("location_ids", PATH_PROBABILITY),
        "query.location_id": ("location_ids", 0.8),
        "query.service_id": ("service_ids", 0.8),
        "query.client_id": ("client_ids", QUERY_PROBABILITY),
        "query.phone": ("phones", QUERY_PROBABILITY),
        "header.X-Location-Id": ("location_ids", QUERY_PROBABILITY),
    },
    "loyalty": {
        "path.type_id": ("type_ids", PATH_PROBABILITY),
        "path.promotion_id": ("promotion_ids", PATH_PROBABILITY),
        "path.card_id": ("cards", PATH_PROBABILITY),
        "path.client_id": ("client_ids", PATH_PROBABILITY),
        "path.location_id": ("location_ids", PATH_PROBABILITY),
        "query.location_id": ("location_ids", 0.7),
        "query.client_id": ("client_ids", QUERY_PROBABILITY),
        "body.card_type_id": ("type_ids", BODY_PROBABILITY),
        "body.card_type_ids[*]": ("type_ids", BODY_PROBABILITY),
        "body.client_id": ("client_ids", BODY_PROBABILITY),
        "body.phone": ("phones", BODY_PROBABILITY),
        "body.location_ids[*]": ("location_ids", BODY_PROBABILITY),
        "body.amount": ("money", BODY_PROBABILITY),
        "body.percent": ("percents", BODY_PROBABILITY),
        "body.rules[*].from": ("money", BODY_PROBABILITY),
        "body.rules[*].percent": ("percents", BODY_PROBABILITY),
        "body.discount_rules[*].from": ("money", BODY_PROBABILITY),
        "body.discount_rules[*].percent": ("percents", BODY_PROBABILITY),
        "body.level_rules[*].sold_from": ("money", BODY_PROBABILITY),
        "body.level_rules[*].paid_from": ("money", BODY_PROBABILITY),
    },
    "inventory": {
        "path.product_id": ("product_ids", PATH_PROBABILITY),
        "path.operation_id": ("operation_ids", PATH_PROBABILITY),
        "path.service_id": ("service_ids", PATH_PROBABILITY),
        "path.location_id": ("location_ids", PATH_PROBABILITY),
        "query.storage_id": ("storage_ids", QUERY_PROBABILITY),
        "query.product_id": ("product_ids", QUERY_PROBABILITY),
        "query.location_id": ("location_ids", QUERY_PROBABILITY),
        "query.category": ("categories", QUERY_PROBABILITY),
        "query.source": ("sources", QUERY_PROBABILITY),
        "body.storage_id": ("storage_ids", BODY_PROBABILITY),
        "body.to_storage_id": ("storage_ids", BODY_PROBABILITY),
        "body.consumables_storage_id": ("storage_ids", BODY_PROBABILITY),
        "body.lines[*].product_id": ("product_ids", BODY_PROBABILITY),
        "body.items[*].product_id": ("product_ids", BODY_PROBABILITY),
        "body.category_id": ("categories", BODY_PROBABILITY),
        "body.location_id": ("location_ids", BODY_PROBABILITY),
        "body.sale_price": ("money", BODY_PROBABILITY),
        "body.cost_price": ("money", BODY_PROBABILITY),
        "body.lines[*].price": ("money", BODY_PROBABILITY),
        "body.min_stock": ("quantities", BODY_PROBABILITY),
        "body.lines[*].quantity": ("quantities", BODY_PROBABILITY),
        "body.items[*].quantity": ("quantities", BODY_PROBABILITY),
    },
    "wallet": {
        "path.type_id": ("type_ids", PATH_PROBABILITY),
        "path.code_or_id": ("gift_cards", PATH_PROBABILITY),
        "path.client_id": ("client_ids", PATH_PROBABILITY),
        "body.location_id": ("location_ids", BODY_PROBABILITY),
        "body.location_ids[*]": ("location_ids", BODY_PROBABILITY),
        "body.par_value": ("money", BODY_PROBABILITY),
        "body.amount": ("money", BODY_PROBABILITY),
        "body.credit_limit": ("money", BODY_PROBABILITY),
    },
    "notifications": {
        "path.notice_type": ("notice_types", PATH_PROBABILITY),
        "path.client_id": ("client_ids", PATH_PROBABILITY),
        "path.location_id": ("location_ids", PATH_PROBABILITY),
        "query.type": ("notice_types", QUERY_PROBABILITY),
        "query.client_id": ("client_ids", QUERY_PROBABILITY),
        "query.location_id": ("location_ids", QUERY_PROBABILITY),
    },
}
COMMON: dict[str, tuple[str, float]] = {"path.job": ("jobs", PATH_PROBABILITY), "query.cursor": ("cursors", 0.5)}


def config(chain: Chain, service: str, found: dict[str, list[str]]) -> str:
    """schemathesis.toml for fuzzing `service` in `chain`: its key (the admin key on the jobs route), the
    chain's id in every path, and the dictionaries of `found` bound to the parameters that take them."""

    def toml(value: Any) -> str:
        return json.dumps(value)  # a JSON string or list of strings is a TOML one

    lines = [
        f"headers = {{ Authorization = {toml('Bearer ' + chain.key)} }}",
        "",
        "[parameters]",
        f'"chain_id" = {toml(chain.id)}',
    ]
    bindings = {**BINDINGS[service], **COMMON}
    lines += [
        f"{toml(key)} = {{ dictionary = {toml(name)}, probability = {probability} }}"
        for key, (name, probability) in bindings.items()
        if found.get(name)
    ]
    bound = {name for name, _ in bindings.values()}
    for name, values in found.items():
        if values and name in bound:
            lines += ["", f"[dictionaries.{name}]", f"values = {toml(values)}"]
    # The coverage phase sends the boundary values each schema allows (the longest and shortest strings, the
    # largest numbers, every optional field present or absent), on the seed's valid bodies: what reaches the
    # handlers and the database. Its negative half (each constraint broken) only proves the models'
    # validation, which the fuzzing phase's negative mode still exercises; nor do requests with methods a
    # route does not have (405) prove anything about a handler.
    lines += [
        "",
        "[phases.coverage]",
        "unexpected-methods = []",
        "",
        "[phases.coverage.generation]",
        'mode = "positive"',
    ]
    lines += [
        "",
        "[[operations]]",
        'include-path-regex = "/jobs/"',
        f"headers = {{ Authorization = {toml('Bearer ' + chain.admin_key)} }}",
    ]
    return "\n".join(lines) + "\n"


def examples(seeder: Seeder, service: str, found: dict[str, list[str]]) -> dict[str, Any]:
    """What tests.integration.fuzz_hooks writes into the service's document as examples: the bodies the seed
    sent, by operation, and the values of `found` for the path, query and header parameters bound to them."""
    bindings = {**BINDINGS[service], **COMMON}
    return {
        "bodies": seeder.bodies[service],
        "parameters": {
            key: found[name][:PARAMETER_EXAMPLES]
            for key, (name, _) in bindings.items()
            if not key.startswith("body.") and found.get(name)
        },
    }
