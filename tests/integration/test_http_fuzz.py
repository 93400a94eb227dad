"""No request makes a service answer 500, fail in its database, or answer off its OpenAPI document, and the
requests reach the handlers: schemathesis fuzzes each service on a chain that has data.

The chain is seeded first (tests/integration/fuzz_seed.py: membership types, memberships sold on
`membership.sold`, a frozen one, cards, promotions, storages, products, operations, settings, templates,
an opt-out, paid visits), and schemathesis is fed what exists: the ids (and valid money and quantities)
become dictionaries its generated path, query, header and body values are drawn from, and the seed's own
requests become the examples of their operations in the document it reads (tests/integration/fuzz_hooks.py).
Four phases run per service: the examples; the coverage phase (the boundary values each schema allows:
the longest and shortest strings, the largest numbers, each optional field present or absent, null, on
the seed's valid bodies); the fuzzing phase (EXAMPLES per operation, valid and invalid); and the stateful
phase (sequences along the links it infers: create a card type, then read, patch and use it).

Besides the document's checks (no 5xx; status code, content type and body as documented), every answer
is checked by `no_database_failure`: a 422 `invalid_value` (the database refused a value validation let
through: shared/http.py's handler of asyncpg.DataError) is declared on every route, so the document checks
pass it, but it is a bug; so is a 503 while the database is up. And the run must reach: every operation
answers 2xx at least once, or the seed no longer feeds it and the fuzz has stopped proving anything.

The four services are fuzzed at the same time (each run talks to its own service); the figures of each
(answers per phase, per status) are printed: `pytest -s` shows them.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio

from deploy.kafka_io import Kafka
from deploy.scenario import OIL
from tests.integration import fuzz_seed
from tests.integration.conftest import ROOT, SERVICES, Chain, Stack, new_chain

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "no_database_failure",
    "statuses_recorded",
)
PHASES = "examples,coverage,fuzzing,stateful"
# /readyz takes no input, and its 503 says that Kafka or PostgreSQL did not answer it within 2 s: on a loaded
# machine that happens, and is no handler's bug (test_http.py reads the probes).
LEFT_OUT = "/readyz"
EXAMPLES = 10  # per operation in the fuzzing phase (valid and invalid together); the stateful phase's scenarios
SEED = 20261123
TIMEOUT = 900  # seconds for the four runs together, on a loaded machine


@dataclass
class Run:
    service: str
    returncode: int
    report: str
    answers: list[dict[str, object]]
    seconds: float
    operations: set[str]  # every operation of the service's document, as schemathesis names them
    no_jobs: bool  # the service has no job: its jobs route can only answer unknown_job

    def figures(self) -> str:
        statuses = Counter(int(str(a["status"])) for a in self.answers)
        phases = Counter(str(a["phase"]) for a in self.answers)
        total = len(self.answers) or 1
        ok = sum(n for s, n in statuses.items() if 200 <= s < 300)
        return (
            f"{self.service}: {len({a['operation'] for a in self.answers})} operations, {len(self.answers)} "
            f"answers in {self.seconds:.0f} s ({', '.join(f'{p} {n}' for p, n in sorted(phases.items()))}); "
            f"2xx {ok} ({100 * ok / total:.0f}%), 404 {statuses[404]} ({100 * statuses[404] / total:.0f}%); "
            f"by status {dict(sorted(statuses.items()))}"
        )

    def unreached(self) -> list[str]:
        """The operations of the document that never answered 2xx (or were never sent at all)."""
        reached = {a["operation"] for a in self.answers if 200 <= int(str(a["status"])) < 300}
        return sorted(op for op in self.operations - reached if not (self.no_jobs and op.endswith("/jobs/{job}/run")))


async def fuzz(chain: Chain, seeder: fuzz_seed.Seeder, service: str, workdir: Path) -> Run:
    found = await fuzz_seed.dictionaries(chain, service)
    (workdir / "schemathesis.toml").write_text(fuzz_seed.config(chain, service, found))
    (workdir / "examples.json").write_text(json.dumps(fuzz_seed.examples(seeder, service, found)))
    async with httpx.AsyncClient(base_url=chain.stack.url(service)) as http:
        document = (await http.get("/openapi.json")).json()
    operations = {
        f"{method.upper()} {path}"
        for path, methods in document["paths"].items()
        for method in methods
        if path != LEFT_OUT
    }
    answers = workdir / "answers.jsonl"
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.integration.fuzz_hooks",
        "PYTHONPATH": str(ROOT),
        "FUZZ_EXAMPLES": str(workdir / "examples.json"),
        "FUZZ_STATUSES": str(answers),
    }
    started = time.monotonic()
    run = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(workdir / "schemathesis.toml"),
        "run",
        f"{chain.stack.url(service)}/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--phases",
        PHASES,
        "--exclude-path",
        LEFT_OUT,
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        "--generation-database",
        "none",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=workdir,
        env=env,
    )
    try:
        out, _ = await run.communicate()
    finally:
        if run.returncode is None:  # cancelled: the test failed or timed out
            run.kill()
            await run.wait()
    lines = answers.read_text().splitlines() if answers.exists() else []
    return Run(
        service,
        run.returncode if run.returncode is not None else -1,
        out.decode(errors="replace"),
        [json.loads(line) for line in lines],
        time.monotonic() - started,
        operations,
        not found["jobs"],
    )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fuzzed(
    stack: Stack, db: asyncpg.Pool, kafka: Kafka, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[dict[str, asyncio.Task[Run]]]:
    """One seeded chain; the four services fuzzed on it at once (each test awaits its own)."""
    chain = await new_chain(stack, db)
    seeder = await fuzz_seed.seed(chain, kafka)
    runs = {s: asyncio.create_task(fuzz(chain, seeder, s, tmp_path_factory.mktemp(f"fuzz-{s}"))) for s in SERVICES}
    yield runs
    for task in runs.values():
        task.cancel()
    await asyncio.gather(*runs.values(), return_exceptions=True)


@pytest.mark.parametrize("service", SERVICES)
async def test_no_request_makes_a_service_fail_or_answer_off_its_document(
    fuzzed: dict[str, asyncio.Task[Run]], service: str
) -> None:
    done, _ = await asyncio.wait([fuzzed[service]], timeout=TIMEOUT)
    assert done, f"the fuzz of {service} did not end within {TIMEOUT} s"
    run = fuzzed[service].result()
    print(f"\n{run.figures()}")
    assert run.returncode == 0, run.report[-10000:]
    assert run.answers, f"no answer recorded: were the checks of tests/integration/fuzz_hooks.py loaded?\n{run.report}"
    assert not run.unreached(), (
        f"never answered 2xx (the seed no longer feeds them): {run.unreached()}\n{run.figures()}"
    )


# --- what the fuzz found, pinned ---------------------------------------------------------------------


async def test_a_product_patch_with_null_for_a_field_that_cannot_be_empty_leaves_it(chain: Chain) -> None:
    """PATCH /products/{id} with `"archived": null` (or a null name or price) answered 500: the null went
    to a NOT NULL column. A null there leaves the field as it is, as a card type's PATCH does."""
    async with chain.client("inventory") as http:
        created = await http.post("/products", json={"id": OIL, "name": "Argan oil", "sale_price": "300"})
        assert created.status_code == 201, created.text
        for field in ("archived", "name", "sale_price", "cost_price"):
            r = await http.patch(f"/products/{OIL}", json={field: None, "min_stock": "4"})
            assert r.status_code == 200, f"{field}: {r.status_code} {r.text}"
            assert r.json()[field] == created.json()[field], field
            assert Decimal(r.json()["min_stock"]) == 4


async def test_a_manual_accrual_past_the_largest_balance_is_refused_naming_the_amount(chain: Chain) -> None:
    """POST /cards/{id}/transactions accruing 999,999,999,999.99 points (a valid amount) onto a card that
    holds some answered 422 `invalid_value`: the card's balance overflowed its NUMERIC(14,2) in the
    database. The accrual is refused as a rule of its own (409 naming `amount`) and the card is unchanged;
    up to the largest balance it is taken."""
    async with chain.client("loyalty") as http:
        card_type = (await http.post("/card-types", json={"name": "Club card"})).json()
        card = await http.post("/cards", json={"card_type_id": card_type["id"], "client_id": "cl-1", "number": "C-1"})
        assert card.status_code == 201, card.text
        accrue = {"kind": "accrue", "reason": "goodwill"}
        r = await http.post("/cards/C-1/transactions", json={**accrue, "amount": "100"})
        assert r.status_code == 200, r.text
        r = await http.post("/cards/C-1/transactions", json={**accrue, "amount": "999999999999.99"})
        assert r.status_code == 409, r.text
        assert r.json()["error"] == "balance_too_large" and r.json()["field"] == "amount", r.text
        assert Decimal((await http.get("/cards/C-1")).json()["balance"]) == 100
        r = await http.post("/cards/C-1/transactions", json={**accrue, "amount": "999999999899.99"})
        assert r.status_code == 200, r.text
        assert Decimal(r.json()["balance"]) == Decimal("999999999999.99")
