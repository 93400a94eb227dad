"""The machine-readable contract committed under docs/ (a JSON Schema per topic, each service's AsyncAPI
document) is what the code generates: a model, an example or a subscription changed without
`make contract` fails here, naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema_rs
import pytest
import yaml

from shared import contract_export, topics
from shared.events import wire


def test_the_committed_contract_files_are_what_the_code_generates() -> None:
    problems = contract_export.drift()
    assert not problems, (
        "the committed contract files drifted from the code; run `make contract` "
        "(python -m shared.contract_export) and commit docs/schemas and docs/asyncapi:\n" + "\n".join(problems)
    )


def test_drift_names_a_changed_a_missing_and_a_stale_file(tmp_path: Path) -> None:
    contract_export.write(tmp_path)
    assert contract_export.drift(tmp_path) == []
    (tmp_path / "docs/schemas/visit.paid.json").write_text("{}\n")
    (tmp_path / "docs/asyncapi/loyalty.yaml").unlink()
    (tmp_path / "docs/schemas/visit.gone.json").write_text("{}\n")
    assert sorted(contract_export.drift(tmp_path)) == [
        "docs/asyncapi/loyalty.yaml: missing",
        "docs/schemas/visit.gone.json: no longer generated (a topic or service removed)",
        "docs/schemas/visit.paid.json: differs from what the code generates",
    ]
    contract_export.write(tmp_path)
    assert contract_export.drift(tmp_path) == []


def test_every_topic_has_a_schema_and_an_example() -> None:
    files = contract_export.render()
    contract = [*topics.INBOUND, *topics.DOMAIN, *topics.NOTIFICATIONS]
    assert sorted(p.stem for p in files if p.parent == Path("docs/schemas")) == sorted(contract)
    assert sorted(wire.EXAMPLES) == sorted(contract)


@pytest.mark.parametrize("topic", [topics.VISIT_PAID, topics.NOTIFICATION_DELIVERY, topics.MEMBERSHIP_SOLD])
def test_a_topic_others_publish_is_described_by_what_a_producer_must_meet(topic: str) -> None:
    schema = json.loads(contract_export.render()[Path(f"docs/schemas/{topic}.json")])
    assert "validation schema" in schema["$comment"]


def test_a_published_topic_is_described_as_it_goes_on_the_wire() -> None:
    schema = json.loads(contract_export.render()[Path("docs/schemas/membership.deducted.json")])
    assert "serialization schema" in schema["$comment"]
    assert schema["properties"]["service_cost"]["anyOf"][0]["type"] == "string"  # money: a string, never a float


def test_each_message_names_its_key_its_traceparent_header_and_an_example() -> None:
    doc = yaml.safe_load(contract_export.render()[Path("docs/asyncapi/notifications.yaml")])
    assert doc["servers"]["kafka"]["host"] == contract_export.SERVER
    sms = doc["components"]["messages"]["notification.sms.Notice"]
    assert "client_id" in sms["bindings"]["kafka"]["key"]["description"]
    assert "traceparent" in sms["headers"]["properties"]
    assert sms["examples"][0]["payload"]["channel"] == "sms"
    deducted = doc["components"]["messages"]["membership.deducted.MembershipDeducted"]
    assert "client.id" in deducted["bindings"]["kafka"]["key"]["description"]


def test_every_example_meets_its_topics_json_schema() -> None:
    files = contract_export.render()
    for name in contract_export.SERVICES:
        doc = yaml.safe_load(files[Path(f"docs/asyncapi/{name}.yaml")])
        for message_id, message in doc["components"]["messages"].items():
            topic = message_id.rsplit(".", 1)[0]
            schema = json.loads(files[Path(f"docs/schemas/{topic}.json")])
            for example in message["examples"]:
                errors = [e.message for e in jsonschema_rs.validator_for(schema).iter_errors(example["payload"])]
                assert not errors, (name, topic, errors)


@pytest.mark.parametrize("topic", sorted(wire.EXTERNAL))
def test_what_a_service_publishes_on_a_topic_others_publish_meets_its_validation_schema(topic: str) -> None:
    # The gateway (every inbound topic) and inventory (membership.sold) publish the validated event again.
    schema = json.loads(contract_export.render()[Path(f"docs/schemas/{topic}.json")])
    model = contract_export.topic_models()[topic]
    published = model.model_validate(wire.EXAMPLES[topic]).model_dump(mode="json")
    assert not [e.message for e in jsonschema_rs.validator_for(schema).iter_errors(published)]


def test_the_yaml_documents_have_no_aliases() -> None:
    # Some AsyncAPI tools do not follow YAML anchors: an example sharing a client with another is written twice.
    for path, text in contract_export.render().items():
        assert "&id0" not in text and "*id0" not in text, path
