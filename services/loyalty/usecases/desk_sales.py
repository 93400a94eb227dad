"""`inventory.sale_recorded`, a batch at a time: a sale at the desk for a named client counts toward the
client's sold and paid at its location (the seed counts "invoices from visits or product sales"), then
the location program is recalculated for the client, as on a paid visit (reason `desk_sale`).

Counted once per operation: the inbox key `inventory.sale_recorded:<operation_id>` (a resend under
another event id), the batch's books (twice in one batch) and the table's key (a replay past the inbox's
window). A desk sale is not a visit: it adds to sold and paid and to a promotion's history totals (a
later visit's cumulative cashback), not to the visits counted, nor is it activity for the inactivity
rules; it accrues no cashback itself (an operation names no card) and spends no points."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel

from services.loyalty import batch_repository as batch
from services.loyalty import desk_sale_repository as desks
from services.loyalty.domain.books import Books
from services.loyalty.domain.visits import desk_sale
from services.loyalty.usecases.bonus import Message
from services.loyalty.usecases.recalculate import reassess
from shared.events import SaleRecorded
from shared.uow import UnitOfWork


async def record_desk_sales(uow: UnitOfWork, events: list[SaleRecorded]) -> None:
    conn = uow.conn
    books = Books(datetime.now(UTC))
    clients = {(e.chain_id, e.client.id) for e in events}
    books.programs = await batch.programs(conn, {(e.chain_id, e.location_id) for e in events})
    # The states locked first, then the statistics read (as a visit batch and a recalculation page do).
    books.states = await batch.lock_states(
        conn,
        {(e.chain_id, e.location_id, e.client.id) for e in events if (e.chain_id, e.location_id) in books.programs},
        books.as_of,
    )
    for chain_id, row in await batch.visits(conn, clients, ()):
        books.know_visit(chain_id, row)
    for chain_id, row in await desks.rows(conn, clients, {(e.chain_id, str(e.operation_id)) for e in events}):
        books.know_desk_sale(chain_id, row)
    books.clients = await batch.clients(conn, clients)
    out: list[tuple[Message, BaseModel]] = []
    for e in events:
        sale = desk_sale(str(e.operation_id), e.location_id, e.client.id, e.sold, e.paid, e.occurred_at)
        if not books.add_desk_sale(e.chain_id, sale):
            continue
        books.tell_client(e.chain_id, e.client.id, e.client.phone, e.client.name)
        out += [(m, e) for m in reassess(books, e.chain_id, e.location_id, e.client.id, "desk_sale")]
    await desks.save(conn, books.new_desk_sales)
    await batch.save_visits(conn, "payment", [], books.clients_told)  # no visit: the clients' phone and name
    await batch.save_states(conn, {k: books.states[k] for k in books.states_changed})
    for (topic, key, event), cause in out:
        uow.publish(topic, key, event, cause=cause)
