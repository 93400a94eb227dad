"""The client card's manual values: a personal discount, level and categories set or removed by hand at a
location (`PATCH /clients/{id}/loyalty?location_id=`). A manual value overrides the derived one until it
is removed; the program's recalculations keep deriving theirs beside it and never change it (the
inactivity reset included: a discount given by hand does not lapse). A change of what the client has
publishes its event with reason `manual`, as a recalculation's would."""

from __future__ import annotations

from datetime import datetime

from services.loyalty import domain, manual_repository
from services.loyalty.domain import LoyaltyState, Program, Stats
from services.loyalty.repository import Repository
from services.loyalty.schemas import ClientLoyaltyOut
from services.loyalty.usecases.recalculate import change_events, client_loyalty
from shared.events import Client
from shared.uow import UnitOfWork


async def set_manual(
    uow: UnitOfWork, chain_id: str, client_id: str, location_id: str, changes: dict[str, object], as_of: datetime
) -> ClientLoyaltyOut:
    """Sets (or removes: None) the named manual values; the client's state is recalculated as of `as_of`
    with them over the derived values (none without a program)."""
    repo = Repository(uow.conn, chain_id)
    before = (await repo.lock_states(location_id, [client_id], as_of))[client_id]
    manual = before.manual.patched(changes)
    program = await repo.program(location_id)
    s = (await repo.location_stats(location_id, [client_id])).get(client_id, Stats())
    after = domain.evaluate(program, s, as_of, manual) if program is not None else manual.over(LoyaltyState())
    await manual_repository.save_manual(uow.conn, chain_id, location_id, client_id, manual)
    await repo.save_states(location_id, {client_id: after})
    row = (await repo.clients([client_id])).get(client_id)
    client = Client(id=client_id, phone=row["phone"] if row else None, name=row["name"] if row else None)
    for topic, key, event in change_events(
        chain_id, location_id, client, program or Program(), s, before, after, "manual"
    ):
        uow.publish(topic, key, event)
    return await client_loyalty(uow.conn, chain_id, client_id, location_id)
