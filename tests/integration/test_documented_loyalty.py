"""What the README promises of the loyalty program, through the real Kafka and PostgreSQL (issue "Proof
that can fail", point 7), where no test held the promise before:

- the notices the program's changes become: a discount reset for inactivity is the client's
  `loyalty.discount_expired` notice, a level lost is not texted (a level gained is);
- "saving again supersedes a running one": a program saved while the last one's recalculation is half
  way stops that one where it is, and its own recalculation goes over every client;
- "a recalculation a stopped process left behind resumes with the next `inactivity` job run".

A recalculation is caught half way by holding what its page must write: the test inserts a client's
`client_loyalty` row in a transaction it keeps open, so the page's insert of that row waits for it.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest

from deploy import processes
from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, Stack, eventually, of_chain, publish
from tests.integration.loyalty_helpers import arrived, at, client, put_program, run_job, visit_paid
from tests.integration.proof import blocked_by, until_marker

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

PAGE = 500  # services/loyalty/usecases/recalculate.py, PAGE_SIZE: clients per page of a recalculation


def program(percent: str, **more: Any) -> dict[str, Any]:
    """From 1,000 sold at the location: `percent`% off."""
    return {"discount_rules": [{"basis": "sold", "from": "1000", "percent": percent}], **more}


# --- the notices of the program's changes -------------------------------------------------------------


async def test_a_discount_reset_for_inactivity_is_the_expired_notice_and_a_level_lost_is_not_texted(
    chain: Chain, kafka: Kafka
) -> None:
    await put_program(
        chain,
        program(
            "5",
            discount_reset_after_days=30,
            notify_discount_expiration=True,
            level_rules=[{"level": "bronze", "sold_from": "1000"}],
            level_reset_after_days=30,
        ),
    )
    anna = client("anna")

    async def comes() -> None:  # a paid visit she came to: 5% and bronze
        v = visit_paid(chain, anna, "2000")
        await publish(kafka, topics.VISIT_PAID, v)
        await publish(kafka, topics.VISIT_ARRIVED, arrived(chain, anna, v["visit_id"]))

    def levels() -> Any:
        return kafka.read_to_end(topics.LOYALTY_LEVEL_CHANGED, of_chain(chain, client_id=anna["id"]))

    await comes()
    await eventually(levels, lambda ls: len(ls) == 1, what="bronze")
    assert (await run_job(chain, "inactivity", at(31)))["clients_changed"] == 1  # 30 days away: both go
    gone = await eventually(levels, lambda ls: len(ls) == 2, what="bronze lost")
    await comes()  # she is back: bronze again, the marker of her level notices
    gained, lost, again = await eventually(levels, lambda ls: len(ls) == 3, what="bronze again")
    assert gone[1] == lost and (lost["old_level"], lost["new_level"], lost["reason"]) == ("bronze", None, "inactivity")
    assert (again["old_level"], again["new_level"]) == (None, "bronze")

    ids = {e["event_id"]: e for e in (gained, lost, again)}
    told = await until_marker(
        kafka,
        topics.NOTIFICATION_SMS,
        lambda m: m.get("source_event_id") in ids,
        lambda m: m.get("source_event_id") == again["event_id"],
    )
    assert [n["source_event_id"] for n in told] == [gained["event_id"]], "a level lost was texted"
    assert told[0]["type"] == "loyalty.level_changed" and told[0]["text"] == "Client anna, your level is now bronze."

    [reset] = await kafka.read_to_end(topics.LOYALTY_DISCOUNT_CHANGED, of_chain(chain, reason="inactivity"))
    assert (reset["old_percent"], reset["new_percent"]) == ("5.00", "0.00")
    [expired] = await kafka.read(topics.NOTIFICATION_SMS, lambda m: m.get("source_event_id") == reset["event_id"])
    assert (expired["type"], expired["to"]) == ("loyalty.discount_expired", anna["phone"])
    assert expired["text"] == "Client anna, your 5% discount has expired; your discount is now 0%."
    # Any other change of her discount is the changed notice.
    others = await kafka.read_to_end(topics.LOYALTY_DISCOUNT_CHANGED, of_chain(chain, client_id=anna["id"]))
    # (She is back with her arrival or her payment, whichever is consumed first.)
    assert [d["reason"] for d in others][:2] == ["visit_paid", "inactivity"] and len(others) == 3, others
    assert others[2]["reason"] in ("visit_paid", "visit_arrived")
    notices = await kafka.read(
        topics.NOTIFICATION_SMS, lambda m: m.get("source_event_id") in {d["event_id"] for d in others}, count=3
    )
    assert [n["type"] for n in notices] == [
        "loyalty.discount_changed",
        "loyalty.discount_expired",
        "loyalty.discount_changed",
    ]


# --- a recalculation caught half way ----------------------------------------------------------------


async def seed(chain: Chain, kafka: Kafka, db: asyncpg.Pool, n: int) -> list[str]:
    """`n` clients of loc-1, each with a paid visit of 2,000 (the program below is saved after)."""
    ids = [f"cl-{i:04d}" for i in range(n)]
    sends = [
        await kafka.producer.send(
            topics.VISIT_PAID,
            json.dumps(visit_paid(chain, {"id": c, "phone": None, "name": None}, "2000")).encode(),
            key=c.encode(),
        )
        for c in ids
    ]
    await asyncio.gather(*sends)

    async def recorded() -> int:
        return await db.fetchval(  # type: ignore[no-any-return]
            "SELECT count(*) FROM loyalty.visits WHERE chain_id = $1", chain.id
        )

    await eventually(recorded, lambda c: c == n, timeout=90, what=f"{n} visits recorded")
    return ids


@asynccontextmanager
async def holding(db: asyncpg.Pool, chain: Chain, client_id: str) -> AsyncIterator[asyncpg.Connection]:
    """`client_id`'s loyalty row at loc-1 inserted and not committed: a page that writes it waits."""
    async with db.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            await conn.execute(
                "INSERT INTO loyalty.client_loyalty (chain_id, location_id, client_id) VALUES ($1, 'loc-1', $2)",
                chain.id,
                client_id,
            )
            yield conn
        finally:
            await tx.rollback()


async def recalcs(db: asyncpg.Pool, chain: Chain) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT status, clients_done, changed FROM loyalty.program_recalcs "
        "WHERE chain_id = $1 AND location_id = 'loc-1' ORDER BY id",
        chain.id,
    )
    return [dict(r) for r in rows]


async def percents(db: asyncpg.Pool, chain: Chain) -> dict[str, str]:
    rows = await db.fetch(
        "SELECT client_id, discount_percent FROM loyalty.client_loyalty WHERE chain_id = $1 AND location_id = 'loc-1'",
        chain.id,
    )
    return {r["client_id"]: str(r["discount_percent"]) for r in rows}


async def test_a_program_saved_while_the_last_ones_recalculation_runs_supersedes_it(
    chain: Chain, kafka: Kafka, db: asyncpg.Pool
) -> None:
    n = PAGE + 20  # two pages
    ids = await seed(chain, kafka, db, n)
    async with holding(db, chain, ids[0]) as holder:
        await put_program(chain, program("5"))  # its first page waits on the test's row
        await eventually(lambda: blocked_by(db, holder), lambda pids: len(pids) == 1, what="the first page waiting")

        # Saving again waits for the page in hand (it holds its recalculation's row); then the page
        # commits, and the save stops that recalculation where the page left it.
        second = asyncio.create_task(put_program(chain, program("10")))

        async def saved_or_waiting() -> bool:
            return second.done() or bool(
                await db.fetchval(
                    """SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'
                   AND application_name LIKE 'perkstream-loyalty-http%'"""
                )
            )

        await eventually(saved_or_waiting, bool, what="the second save made or waiting for the page")
    saved = await second
    assert saved["discount_rules"][0]["percent"] == "10.00" and saved["recalculation"]["status"] == "running"

    async def latest() -> dict[str, Any]:
        async with chain.client("loyalty") as http:
            return (await http.get("/locations/loc-1/loyalty-program")).json()["recalculation"]  # type: ignore[no-any-return]

    shown = await eventually(latest, lambda r: r["status"] == "done", timeout=60, what="the second recalculation")
    first, second_run = await recalcs(db, chain)
    assert first == {"status": "superseded", "clients_done": PAGE, "changed": PAGE}, first
    assert second_run == {"status": "done", "clients_done": n, "changed": n}, second_run
    assert (shown["clients_done"], shown["changed"]) == (n, n)
    assert set((await percents(db, chain)).values()) == {"10.00"}
    # The clients past the first page were never given the superseded program's 5%.
    beyond = set(ids[PAGE:])
    changes = await kafka.read(topics.LOYALTY_DISCOUNT_CHANGED, of_chain(chain), count=PAGE + n, timeout=60)
    assert {(d["old_percent"], d["new_percent"]) for d in changes if d["client"]["id"] in beyond} == {("0.00", "10.00")}


async def test_a_recalculation_a_killed_process_left_half_way_resumes_with_the_next_inactivity_run(
    chain: Chain, kafka: Kafka, db: asyncpg.Pool, stack: Stack
) -> None:
    ids = await seed(chain, kafka, db, 5)
    replica = stack.start_replica("loyalty")
    try:
        async with holding(db, chain, ids[0]) as holder:
            async with httpx.AsyncClient(
                base_url=f"{replica.url}/v1/chains/{chain.id}",
                timeout=10,
                headers={"Authorization": f"Bearer {chain.key}"},
            ) as http:
                r = await http.put("/locations/loc-1/loyalty-program", json=program("5"))
            assert r.status_code == 200, r.text
            [page] = await eventually(
                lambda: blocked_by(db, holder), lambda pids: len(pids) == 1, what="the replica's page waiting"
            )
            replica.process.send_signal(signal.SIGKILL)  # in the middle of its page
            replica.process.wait(20)
        # Its connection ends with it (the page's transaction rolled back): nobody works on the rest.

        async def alive() -> bool:
            return bool(await db.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", page))

        await eventually(alive, lambda a: not a, what="the killed process's connection gone")
        assert await recalcs(db, chain) == [{"status": "running", "clients_done": 0, "changed": 0}]
        assert await percents(db, chain) == {}

        await run_job(chain, "inactivity", at(0))  # on the service's other process
        async with chain.client("loyalty") as http:

            async def latest() -> dict[str, Any]:
                return (await http.get("/locations/loc-1/loyalty-program")).json()["recalculation"]  # type: ignore[no-any-return]

            done = await eventually(latest, lambda r: r["status"] == "done", what="the recalculation resumed")
        assert (done["clients_done"], done["changed"]) == (5, 5)
        assert await percents(db, chain) == dict.fromkeys(ids, "5.00")
        changes = await kafka.read(topics.LOYALTY_DISCOUNT_CHANGED, of_chain(chain), count=5)
        assert sorted(d["client"]["id"] for d in changes) == ids
        assert {d["reason"] for d in changes} == {"program_saved"}
    finally:
        processes.stop([replica])
