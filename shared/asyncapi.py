"""Builds the AsyncAPI 3.0 document of a service from the contract models it consumes and publishes.

The models in shared/events.py are the contract, so the document is generated from them rather than
from FastStream's handler signatures (our handlers take raw batches, to dead-letter bad records one
by one)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from shared.consumer.records import Reason


def build(service: str, servers: str, consumes: list[tuple[str, type[BaseModel], str]],
          publishes: list[tuple[str, type[BaseModel], str]]) -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}

    def add(topic: str, model: type[BaseModel], description: str, action: str) -> None:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        message_id = f"{topic}.{model.__name__}"  # component keys allow only [\w.-]
        messages[message_id] = {
            "name": model.__name__,
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{model.__name__}"},
        }
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

    for topic, model, description in consumes:
        add(topic, model, description, "receive")
    for topic, model, description in publishes:
        add(topic, model, description, "send")
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"Perkstream {service}",
            "version": "1.0.0",
            "description": "Every consumed topic has a `<topic>.dlq` twin: the original bytes, the reason "
                           "in the `x-error` header and its code in `x-error-reason` "
                           f"({', '.join(Reason)}). Messages are keyed by client id.",
        },
        "defaultContentType": "application/json",
        "servers": {"kafka": {"host": servers, "protocol": "kafka"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
