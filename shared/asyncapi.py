"""Builds the AsyncAPI 3.0 document of a service from the contract models it consumes and publishes.

The models in shared/events/ are the contract, so the document is generated from them rather than
from FastStream's handler signatures (our handlers take raw batches, to dead-letter bad records one
by one). Each message names its Kafka key and `traceparent` header and carries one example
(shared/events/wire.py); a topic's payload schema is the same in every document (`wire.schema_mode`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from shared.consumer.records import Reason
from shared.events import wire

REF = "#/components/schemas/{model}"


def example(topic: str, model: type[BaseModel]) -> dict[str, Any]:
    """The topic's example, validated by its model: as a producer may send it (topics others publish),
    else exactly as a service publishes it."""
    raw = wire.EXAMPLES[topic]
    event = model.model_validate(raw)
    return raw if wire.schema_mode(topic) == "validation" else event.model_dump(mode="json")


def message(topic: str, model: type[BaseModel], payload_ref: str) -> dict[str, Any]:
    return {
        "name": model.__name__,
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "properties": {
                "traceparent": {
                    "type": "string",
                    "pattern": wire.TRACEPARENT_PATTERN,
                    "description": "W3C trace context, when the message has one; carried on to everything it causes",
                }
            },
        },
        "payload": {"$ref": payload_ref},
        "bindings": {"kafka": {"key": {"type": "string", "description": wire.key(topic)}, "bindingVersion": "0.5.0"}},
        "examples": [
            {
                "name": f"{topic}.example",
                "headers": {"traceparent": wire.TRACEPARENT_EXAMPLE},
                "payload": example(topic, model),
            }
        ],
    }


def build(
    service: str,
    servers: str,
    consumes: list[tuple[str, type[BaseModel], str]],
    publishes: list[tuple[str, type[BaseModel], str]],
) -> dict[str, Any]:
    described = [(t, m, d, "receive") for t, m, d in consumes] + [(t, m, d, "send") for t, m, d in publishes]
    pairs: list[tuple[type[BaseModel], JsonSchemaMode]] = [(m, wire.schema_mode(t)) for t, m, _, _ in described]
    # One pass over every model: a model whose two schemas differ is named apart (-Input / -Output).
    refs, top = models_json_schema(list(dict.fromkeys(pairs)), ref_template=REF)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic, model, description, action in described:
        message_id = f"{topic}.{model.__name__}"  # component keys allow only [\w.-]
        messages[message_id] = message(topic, model, refs[(model, wire.schema_mode(topic))]["$ref"])
        channels[topic] = {
            "address": topic,
            "description": description or topic,
            "messages": {model.__name__: {"$ref": f"#/components/messages/{message_id}"}},
        }
        verb = "consume" if action == "receive" else "publish"
        operations[f"{verb}.{topic}"] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{topic}"},
            "summary": description or topic,
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"Perkstream {service}",
            "version": "1.0.0",
            "description": "Every consumed topic has a `<topic>.dlq` twin: the original bytes, the reason "
            "in the `x-error` header and its code in `x-error-reason` "
            f"({', '.join(Reason)}). Each message's Kafka key is in its binding (the client id "
            'for client-scoped messages). Compatibility: docs/contract.md, "Compatibility".',
        },
        "defaultContentType": "application/json",
        "servers": {"kafka": {"host": servers, "protocol": "kafka"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": top.get("$defs", {})},
    }
