"""Each service's AsyncAPI document: well-formed keys, every $ref resolves, every topic it consumes and
publishes is described with its contract model."""

from __future__ import annotations

import re
from typing import Any

import pytest

from services.inventory.app import build as inventory
from services.loyalty.app import build as loyalty
from services.memberships.app import build as memberships
from services.notifications.app import build as notifications
from shared import topics

KEY = re.compile(r"^[\w.\-]+$")  # AsyncAPI 3.0: component, channel and operation keys


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


@pytest.mark.parametrize("build", [memberships, loyalty, inventory, notifications])
def test_the_asyncapi_document_is_well_formed(build: Any) -> None:
    doc = build().asyncapi()
    assert doc["asyncapi"] == "3.0.0"
    for section in ("channels", "operations"):
        assert doc[section] and all(KEY.match(k) for k in doc[section]), section
    for section in ("messages", "schemas"):
        assert all(KEY.match(k) for k in doc["components"][section]), section
    for ref in refs(doc):
        assert resolve(doc, ref) is not None, ref
    for op in doc["operations"].values():
        assert op["action"] in ("send", "receive")


def test_the_memberships_document_names_what_it_consumes_and_publishes() -> None:
    doc = memberships().asyncapi()
    received = {op["channel"]["$ref"].split("/")[-1] for op in doc["operations"].values() if op["action"] == "receive"}
    sent = {op["channel"]["$ref"].split("/")[-1] for op in doc["operations"].values() if op["action"] == "send"}
    assert received == {
        topics.VISIT_PAID,
        topics.MEMBERSHIP_SOLD,
        topics.VISIT_ARRIVED,
        topics.VISIT_NO_SHOW,
        topics.VISIT_CANCELLED,
    }
    assert {
        topics.MEMBERSHIP_DEDUCTED,
        topics.MEMBERSHIP_DEDUCTION_REVERSED,
        topics.MEMBERSHIP_ISSUED,
        topics.MEMBERSHIP_EXPIRED,
    } <= sent
    payload = resolve(doc, doc["components"]["messages"]["visit.paid.VisitPaid"]["payload"]["$ref"])
    assert {"event_id", "chain_id", "visit_id", "lines"} <= set(payload["properties"])
