"""A bulk import of cards, as a chain moving from another system (or a bench) brings them: which rows are
new, which are there already (an import run twice changes nothing the second time), and what refuses the
whole import. Pure: the standard library only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class ImportedCard:
    card_type_id: str
    client_id: str
    phone: str | None
    number: str
    balance: Decimal  # opening points: a manual accrual (reason "import") that never burns
    issued_at: datetime | None = None  # when the card was issued in the other system (None: at the import)


@dataclass(frozen=True)
class IssuedCard:
    """A card the chain has already, as the import compares it."""

    id: str
    card_type_id: str
    client_id: str


@dataclass(frozen=True)
class ImportRefused:
    status: int  # 422: the import contradicts itself; 409: it contradicts the chain's cards
    code: str
    message: str
    field: str  # cards.<index>.<field>


@dataclass
class ImportPlan:
    new: list[int] = field(default_factory=list)  # indexes of the rows to issue, in the import's order
    existing: dict[int, str] = field(default_factory=dict)  # index -> the id of the card it already is


def plan_card_import(
    rows: list[ImportedCard],
    card_types: set[str],
    issued: dict[str, IssuedCard],
    cards_per_client: dict[str, int],
    max_cards: int,
) -> ImportPlan | ImportRefused:
    """All or nothing: a row naming an unknown card type, a number twice in the import, a number the chain
    issued to another client or on another card type, or a client past `max_cards` refuses the import,
    naming the row. A number issued already to the same client on the same type is that card (kept as it
    is, its balance too)."""
    plan = ImportPlan()
    first: dict[str, int] = {}
    counts = dict(cards_per_client)
    for i, row in enumerate(rows):
        if row.card_type_id not in card_types:
            return ImportRefused(
                422, "unknown_card_type", f"no card type {row.card_type_id} in this chain", f"cards.{i}.card_type_id"
            )
        if row.number in first:
            return ImportRefused(
                422,
                "duplicate_number",
                f"card number {row.number} is imported twice (also cards.{first[row.number]}.number)",
                f"cards.{i}.number",
            )
        first[row.number] = i
        card = issued.get(row.number)
        if card is not None:
            if (card.client_id, card.card_type_id) != (row.client_id, row.card_type_id):
                return ImportRefused(
                    409,
                    "number_taken",
                    f"card number {row.number} is already issued in this "
                    "chain, to another client or on another card type",
                    f"cards.{i}.number",
                )
            plan.existing[i] = card.id
            continue
        counts[row.client_id] = counts.get(row.client_id, 0) + 1
        if counts[row.client_id] > max_cards:
            return ImportRefused(
                409,
                "too_many_cards",
                f"client {row.client_id} would have more than {max_cards} cards",
                f"cards.{i}.client_id",
            )
        plan.new.append(i)
    return plan
