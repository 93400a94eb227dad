"""The location program applied to clients: on a visit, on the recalculate button, on saving the
program (every client of the location, in the background, a page per transaction) and by the daily
inactivity job. Every change publishes its event with the old and new values; no change, no event."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog

from services.loyalty import domain, manual_repository
from services.loyalty.domain import LoyaltyState, Program, Stats, category_rules
from services.loyalty.domain.books import Books
from services.loyalty.domain.expiry import tell_change
from services.loyalty.repository import Repository, chains_with_programs, next_running_recalc
from services.loyalty.rows import program_from_spec
from services.loyalty.schemas import ClientLoyaltyOut, ManualOut, ProgramIn, ProgramOut
from services.loyalty.usecases.bonus import Message
from shared import topics
from shared.errors import Invalid, NotFound
from shared.events import CategoriesChanged, Client, DiscountChanged, LevelChanged
from shared.uow import UnitOfWork, unit_of_work

log = structlog.get_logger("loyalty.recalculate")

PAGE_SIZE = 500  # clients per transaction when a whole location is recalculated


async def recalculate(
    uow: UnitOfWork,
    chain_id: str,
    location_id: str,
    client_ids: list[str],
    as_of: datetime,
    reason: str,
    program: Program | None = None,
) -> int:
    """Applies the location's program to `client_ids`; answers how many clients changed."""
    repo = Repository(uow.conn, chain_id)
    program = program or await repo.program(location_id)
    if program is None or not client_ids:
        return 0
    old = await repo.lock_states(location_id, client_ids, as_of)  # lock first, then read the statistics
    stats = await repo.location_stats(location_id, client_ids)
    changed: dict[str, tuple[Stats, LoyaltyState, LoyaltyState]] = {}
    for client_id in sorted(set(client_ids)):
        s = stats.get(client_id, Stats())
        before = old.get(client_id, LoyaltyState())
        after = domain.evaluate(program, s, as_of, before.manual)
        if after != before:
            changed[client_id] = (s, before, after)
    people = await repo.clients(list(set(client_ids))) if changed else {}
    for client_id, (s, before, after) in changed.items():
        row = people.get(client_id)
        client = Client(id=client_id, phone=row["phone"] if row else None, name=row["name"] if row else None)
        for topic, key, event in change_events(chain_id, location_id, client, program, s, before, after, reason):
            uow.publish(topic, key, event)
    await repo.save_states(location_id, {client_id: after for client_id, (_, _, after) in changed.items()})
    return len(changed)


def reassess(books: Books, chain_id: str, location_id: str, client_id: str, reason: str) -> list[Message]:
    """The location program applied to one client of a batch of visits, on the batch's books (the
    statistics with the batch's earlier visits, the state the earlier ones left)."""
    program = books.program(chain_id, location_id)
    if program is None:
        return []
    s = books.stats(chain_id, location_id, client_id)
    before = books.state(chain_id, location_id, client_id)
    after = domain.evaluate(program, s, books.as_of, before.manual)
    if after == before:
        return []
    books.set_state(chain_id, location_id, client_id, after)
    phone, name = books.clients.get((chain_id, client_id), (None, None))
    return change_events(
        chain_id, location_id, Client(id=client_id, phone=phone, name=name), program, s, before, after, reason
    )


def change_events(
    chain_id: str,
    location_id: str,
    client: Client,
    program: Program,
    s: Stats,
    before: LoyaltyState,
    after: LoyaltyState,
    reason: str,
) -> list[Message]:
    """An event per thing that changed (discount, level, categories), with its old and new values; a
    discount set by hand never lapses (no `expires_at`), a lapse is told as the program says (`notify`)."""
    lapses = program.notify_discount_expiration and after.manual.discount_percent is None
    expires_at = domain.discount_expires_at(program, s) if lapses else None
    common: dict[str, Any] = {"chain_id": chain_id, "location_id": location_id, "client": client, "reason": reason}
    out: list[Message] = []
    if after.discount_percent != before.discount_percent:
        out.append(
            (
                topics.LOYALTY_DISCOUNT_CHANGED,
                client.id,
                DiscountChanged(
                    **common,
                    old_percent=before.discount_percent,
                    new_percent=after.discount_percent,
                    expires_at=expires_at if after.discount_percent else None,
                    notify=tell_change(program, reason),
                ),
            )
        )
    if after.level != before.level:
        out.append(
            (
                topics.LOYALTY_LEVEL_CHANGED,
                client.id,
                LevelChanged(**common, old_level=before.level, new_level=after.level),
            )
        )
    if after.categories != before.categories:
        out.append(
            (
                topics.LOYALTY_CATEGORIES_CHANGED,
                client.id,
                CategoriesChanged(
                    **common,
                    old_categories=list(before.categories),
                    new_categories=list(after.categories),
                    added=sorted(set(after.categories) - set(before.categories)),
                    removed=sorted(set(before.categories) - set(after.categories)),
                ),
            )
        )
    return out


# --- HTTP: the program, the client card ---------------------------------------------------------


async def save_program(uow: UnitOfWork, chain_id: str, location_id: str, body: ProgramIn) -> ProgramOut:
    """Stores the program and starts recalculating every client of the location in the background
    (the caller kicks the worker once this transaction has committed)."""
    contradictions = category_rules.contradictions(program_from_spec(body.spec()))
    if contradictions:  # the first remove rule at fault is named
        first = contradictions[0]
        raise Invalid("removal_contradicts_assignment", f"{first.field}: {first.reason}", field=first.field)
    repo = Repository(uow.conn, chain_id)
    await repo.save_program(location_id, body.spec())
    await repo.start_recalc(location_id)
    return await get_program(uow.conn, chain_id, location_id)


async def get_program(conn: asyncpg.Connection, chain_id: str, location_id: str) -> ProgramOut:
    repo = Repository(conn, chain_id)
    spec = await repo.program_spec(location_id)
    if spec is None:
        raise NotFound("program_not_found", f"location {location_id} has no loyalty program")
    recalc = await repo.last_recalc(location_id)
    return ProgramOut.model_validate(
        {**spec, "location_id": location_id, "recalculation": dict(recalc) if recalc else None}
    )


async def recalculate_client(
    uow: UnitOfWork, chain_id: str, client_id: str, location_id: str | None, as_of: datetime | None = None
) -> ClientLoyaltyOut:
    """The client card's button: one location, or every location with a program when none is named."""
    as_of = as_of or datetime.now(UTC)
    repo = Repository(uow.conn, chain_id)
    locations = [location_id] if location_id else sorted(await repo.programs())
    for loc in locations:
        await recalculate(uow, chain_id, loc, [client_id], as_of, "manual")
    return await client_loyalty(uow.conn, chain_id, client_id, location_id)


async def client_loyalty(
    conn: asyncpg.Connection, chain_id: str, client_id: str, location_id: str | None
) -> ClientLoyaltyOut:
    """The statistics at the location (or across the chain), and what the client has there: the manual
    values where set, else what the location program gave; the derived values beside them (as of the
    last calculation). A chain-wide answer has no discount, level or categories: those are per location."""
    repo = Repository(conn, chain_id)
    s = await repo.stats(client_id, location_id)
    state = (await repo.state(location_id, client_id) if location_id else None) or LoyaltyState()
    derived = LoyaltyState()
    program = await repo.program(location_id) if location_id else None
    if location_id and program is not None:
        as_of = await manual_repository.calculated_at(conn, chain_id, location_id, client_id)
        derived = domain.evaluate(program, s, as_of or datetime.now(UTC))
    manual = state.manual
    return ClientLoyaltyOut(
        client_id=client_id,
        location_id=location_id,
        discount_percent=state.discount_percent,
        level=state.level,
        categories=list(state.categories),
        sold=s.sold,
        paid=s.paid,
        visits=s.visits,
        last_visit_at=s.last_visit_at,
        manual=ManualOut(
            discount_percent=manual.discount_percent,
            level=manual.level,
            categories=None if manual.categories is None else list(manual.categories),
        ),
        derived_discount_percent=derived.discount_percent,
        derived_level=derived.level,
        derived_categories=list(derived.categories),
    )


# --- the background recalculation after a program is saved --------------------------------------


async def recalc_page(pool: asyncpg.Pool, page_size: int = PAGE_SIZE) -> bool:
    """One page of the oldest running recalculation, in its own transaction; False when none is left."""
    async with unit_of_work(pool) as uow:
        job = await next_running_recalc(uow.conn)
        if job is None:
            return False
        chain_id, location_id = job["chain_id"], job["location_id"]
        repo = Repository(uow.conn, chain_id)
        clients = await repo.location_clients_page(location_id, job["cursor"], page_size)
        changed = await recalculate(uow, chain_id, location_id, clients, datetime.now(UTC), "program_saved")
        done = len(clients) < page_size
        await repo.advance_recalc(job["id"], clients[-1] if clients else job["cursor"], len(clients), changed, done)
        if done:
            log.info(
                "program_recalculated",
                chain_id=chain_id,
                location_id=location_id,
                clients=job["clients_done"] + len(clients),
            )
    return True


class RecalcWorker:
    """Works through the running recalculations in the background of the service process, so saving a
    program answers at once and the Kafka consumers never wait for it. Several replicas share the work
    (SKIP LOCKED); what a stopped process left is resumed by the next kick (the inactivity job kicks)."""

    def __init__(self, pool: Any, page_size: int = PAGE_SIZE) -> None:
        self._pool = pool  # a callable answering the pool (it exists only once the service started)
        self.page_size = page_size
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def kick(self) -> None:
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        failures = 0
        while True:
            self._again = False
            try:
                while await recalc_page(self._pool(), self.page_size):
                    failures = 0
            except (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError):
                self._again = True  # a visit's batch held a client we wanted: that page goes again
                await asyncio.sleep(0.1)
            except Exception:
                failures += 1
                log.exception("recalculation_failed", attempt=failures)
                # PostgreSQL away, say: try again a few times, then leave it to the next kick.
                self._again = failures < 5
                await asyncio.sleep(min(2**failures, 30))
            if not self._again:
                return


# --- the inactivity job -------------------------------------------------------------------------


async def inactivity_job(uow: UnitOfWork, chain_id: str, as_of: datetime) -> dict[str, Any]:
    """Discounts reset, levels removed and "inactive N days" categories given once clients have been
    away long enough, in one chain. Only clients who crossed one of those periods since their last
    calculation are looked at, so a daily run costs what changed, not the size of the chain."""
    changed = 0
    looked_at = 0
    repo = Repository(uow.conn, chain_id)
    for location_id, program in sorted((await repo.programs()).items()):
        periods = program.inactive_periods()
        if not periods:
            continue
        cursor = ""
        while True:
            page = await repo.inactive_clients_page(location_id, periods, as_of, cursor, PAGE_SIZE)
            if not page:
                break
            looked_at += len(page)
            changed += await recalculate(uow, chain_id, location_id, page, as_of, "inactivity", program)
            cursor = page[-1]
    return {"clients_checked": looked_at, "clients_changed": changed}


async def chains_for_inactivity(conn: asyncpg.Connection, as_of: datetime) -> list[str]:
    """The scheduler's run takes every chain with a program (each on its own, shared/jobs.py)."""
    return await chains_with_programs(conn)
