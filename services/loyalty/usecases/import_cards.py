"""`POST /cards/import`: many cards at once, as a chain moving from another system brings them, with their
opening balances; all or none. Load what the import is compared with, decide (domain/card_import.py),
write in bulk. No event is published: the cards and points are not new to the clients, only to us (the
transactions show the opening points as `manual`, reason `import`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.loyalty import import_repository as repo
from services.loyalty.bonus_schemas import CardImportIn, CardImportOut, ImportedCardOut
from services.loyalty.domain import MAX_CARDS_PER_CLIENT
from services.loyalty.domain.card_import import ImportedCard, ImportRefused, plan_card_import
from shared import phones
from shared.errors import Conflict, Invalid
from shared.uow import UnitOfWork


async def import_cards(uow: UnitOfWork, chain_id: str, body: CardImportIn) -> CardImportOut:
    rows = [
        ImportedCard(
            str(c.card_type_id), c.client_id, phones.normalize_at(c.phone, chain_id), c.number, c.balance, c.issued_at
        )
        for c in body.cards
    ]
    conn = uow.conn
    plan = plan_card_import(
        rows,
        await repo.card_types(conn, chain_id, {r.card_type_id for r in rows}),
        await repo.issued(conn, chain_id, [r.number for r in rows]),
        await repo.cards_per_client(conn, chain_id, {r.client_id for r in rows}),
        MAX_CARDS_PER_CLIENT,
    )
    if isinstance(plan, ImportRefused):
        raise (Invalid if plan.status == 422 else Conflict)(plan.code, plan.message, field=plan.field)
    ids = await repo.issue(conn, chain_id, [rows[i] for i in plan.new], datetime.now(UTC))
    if ids is None:
        raise Conflict(
            "number_taken",
            "a card number of the import was issued meanwhile: nothing was imported; send the import again",
            field="cards",
        )
    return CardImportOut(
        created=len(plan.new),
        existing=len(plan.existing),
        cards=[
            ImportedCardOut(
                number=r.number, id=uuid.UUID(plan.existing.get(i) or ids[r.number]), created=i not in plan.existing
            )
            for i, r in enumerate(rows)
        ],
    )
