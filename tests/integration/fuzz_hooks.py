"""Schemathesis checks for tests/integration/test_http_fuzz.py, loaded by the schemathesis process it runs
(SCHEMATHESIS_HOOKS=tests.integration.fuzz_hooks).

- `no_database_failure`: with the database up, no answer is a 422 that is the database's own refusal
  (`{"error": "invalid_value"}`, shared/http.py's handler of asyncpg.DataError: a value validation let
  through), nor a 503 (the database "unreachable" or its pool "busy"). The 422 is declared on every route,
  so the document's checks pass it; a 503 is a 5xx, which `not_a_server_error` fails too, but this check
  says why it is a bug here.
- `before_load_schema`: writes the examples of FUZZ_EXAMPLES (tests/integration/fuzz_seed.py) into the
  service's document before schemathesis reads it: the seed's bodies as their operations' request examples,
  the seed's ids as the examples of the parameters that take them. The examples phase sends them; the
  coverage phase builds its boundary and one-field-off cases on them.
- `statuses_recorded`: writes each answer's operation, phase (and coverage scenario) and status to the file
  named by FUZZ_STATUSES, one JSON line each, for the test's figures (how many answers reached a handler);
  with FUZZ_REASONS set, the start of each refusal's body too (to see why a route is not reached).
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis


@schemathesis.hook
def before_load_schema(context: Any, raw_schema: dict[str, Any]) -> None:
    path = os.environ.get("FUZZ_EXAMPLES")
    if not path:
        return
    with open(path, encoding="utf-8") as given:
        wanted = json.load(given)
    bodies, parameters = wanted["bodies"], wanted["parameters"]
    for route, operations in raw_schema.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            sent = bodies.get(f"{method.upper()} {route}")
            content = (operation.get("requestBody") or {}).get("content", {}).get("application/json")
            if sent and content is not None:
                content["examples"] = {f"seed-{i}": {"value": body} for i, body in enumerate(sent)}
            for parameter in operation.get("parameters", []):
                values = parameters.get(f"{parameter.get('in')}.{parameter.get('name')}")
                if values:
                    parameter["examples"] = {f"seed-{i}": {"value": v} for i, v in enumerate(values)}


@schemathesis.check
def no_database_failure(ctx: Any, response: Any, case: Any) -> None:
    if response.status_code == 503:
        raise AssertionError(f"503 while the database is up: {response.text[:300]}")
    if response.status_code == 422:
        try:
            body = response.json()
        except ValueError:
            return
        if isinstance(body, dict) and body.get("error") == "invalid_value":
            raise AssertionError(f"the database refused a value validation let through: {response.text[:300]}")


@schemathesis.check
def statuses_recorded(ctx: Any, response: Any, case: Any) -> None:
    path = os.environ.get("FUZZ_STATUSES")
    if not path:
        return
    line = {
        "operation": case.operation.label,
        "phase": case.meta.phase.name.value if case.meta else None,
        "status": response.status_code,
    }
    scenario = getattr(case.meta.phase.data, "scenario", None) if case.meta else None
    if scenario is not None:
        line["scenario"] = str(scenario.value)
    if os.environ.get("FUZZ_REASONS") and response.status_code >= 400:
        line["reason"] = response.text[:160]
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")
