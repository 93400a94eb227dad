"""What a batch of visit events reads and changes, held in memory while its records are decided one
after the other: each record sees what the earlier ones did (their visits, balances, lots, uses,
states), exactly as if they had come one at a time; the batch then writes what changed, table by
table. Pure: the standard library only (the use cases load it and save what it says changed)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

from services.loyalty.domain import History, Lot, LoyaltyState, Program, Promotion, Stats, Take, take_oldest
from services.loyalty.domain.cards import Card, CardType
from services.loyalty.domain.visits import VisitRow, history_of, stats_of

# A lot accrued in this batch has no id before it is stored; it sorts after every stored lot (their ids
# come from a sequence: the new ones would be larger), in the order accrued, as its stored id will.
NEW_LOT_IDS = 1 << 62


@dataclass(frozen=True)
class NewLot:
    chain_id: str
    card_id: str
    accrued_at: datetime
    amount: Decimal
    burns_at: datetime | None
    notice_at: datetime | None
    promotion_id: str | None
    visit_id: str | None
    key: int  # its place among the batch's new lots (NEW_LOT_IDS + n)


@dataclass(frozen=True)
class Move:
    """A change of a card's balance: a card_transactions row."""

    chain_id: str
    card_id: str
    at: datetime
    kind: str
    amount: Decimal
    balance_after: Decimal
    visit_id: str | None = None
    promotion_id: str | None = None
    location_id: str | None = None
    reason: str | None = None


@dataclass
class Books:
    as_of: datetime  # when the location programs are applied (one moment for the batch)
    programs: dict[tuple[str, str], Program] = field(default_factory=dict)  # (chain, location)
    card_types: dict[tuple[str, str], CardType] = field(default_factory=dict)  # (chain, id)
    promotions: dict[tuple[str, str], list[Promotion]] = field(default_factory=dict)  # (chain, card type): live
    cards: dict[tuple[str, str], Card] = field(default_factory=dict)  # (chain, id): the balance as it goes
    numbers: dict[tuple[str, str], str] = field(default_factory=dict)  # (chain, number) -> id
    client_cards: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (chain, client): by issue
    lots: dict[tuple[str, str], list[Lot]] = field(default_factory=dict)  # (chain, card): those not empty
    uses: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (chain, card, promotion): accruals
    visits: dict[tuple[str, str], VisitRow] = field(default_factory=dict)  # (chain, visit)
    clients: dict[tuple[str, str], tuple[str | None, str | None]] = field(default_factory=dict)  # phone, name
    states: dict[tuple[str, str, str], LoyaltyState] = field(default_factory=dict)  # (chain, location, client)
    # What changed, to write back.
    visits_changed: set[tuple[str, str]] = field(default_factory=set)
    clients_told: dict[tuple[str, str], tuple[str | None, str | None]] = field(default_factory=dict)
    taken: dict[tuple[str, int], Decimal] = field(default_factory=lambda: defaultdict(Decimal))  # stored lots
    new_lots: list[NewLot] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    states_changed: set[tuple[str, str, str]] = field(default_factory=set)
    _client_visits: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    # The clients' desk sales (chain, client) -> rows (VisitRow.desk_sale), apart from the visits (an
    # operation's id is no visit id); the batch's new ones, to write.
    desk_sales: dict[tuple[str, str], list[VisitRow]] = field(default_factory=lambda: defaultdict(list))
    new_desk_sales: list[tuple[str, VisitRow]] = field(default_factory=list)
    _desk_sale_ids: set[tuple[str, str]] = field(default_factory=set)

    # --- loading -------------------------------------------------------------------------------

    def know_visit(self, chain_id: str, row: VisitRow) -> None:
        self.visits[(chain_id, row.visit_id)] = row
        self._client_visits[(chain_id, row.client_id)].add(row.visit_id)

    def know_card(self, chain_id: str, card: Card) -> None:
        self.cards[(chain_id, card.id)] = card
        self.numbers[(chain_id, card.number)] = card.id

    # --- visits and clients --------------------------------------------------------------------

    def visit(self, chain_id: str, visit_id: str) -> VisitRow | None:
        return self.visits.get((chain_id, visit_id))

    def put_visit(self, chain_id: str, row: VisitRow) -> None:
        self.know_visit(chain_id, row)
        self.visits_changed.add((chain_id, row.visit_id))

    def tell_client(self, chain_id: str, client_id: str, phone: str | None, name: str | None) -> None:
        """The client's latest phone and name: what an event carries replaces what we held, a missing
        one keeps it."""
        key = (chain_id, client_id)
        held = self.clients.get(key, (None, None))
        self.clients[key] = (phone if phone is not None else held[0], name if name is not None else held[1])
        told = self.clients_told.get(key, (None, None))
        self.clients_told[key] = (phone if phone is not None else told[0], name if name is not None else told[1])

    def stats(self, chain_id: str, location_id: str, client_id: str) -> Stats:
        return stats_of(r for r in self._rows_of(chain_id, client_id) if r.location_id == location_id)

    def history(
        self,
        chain_id: str,
        client_id: str,
        locations: Sequence[str] | None,
        start: date | None,
        paid_at: datetime,
        visit_id: str,
    ) -> History:
        return history_of(self._rows_of(chain_id, client_id), locations, start, paid_at, visit_id)

    def _rows_of(self, chain_id: str, client_id: str) -> list[VisitRow]:
        visits = [self.visits[(chain_id, v)] for v in self._client_visits.get((chain_id, client_id), ())]
        return visits + self.desk_sales.get((chain_id, client_id), [])

    def know_desk_sale(self, chain_id: str, row: VisitRow) -> None:
        if (chain_id, row.visit_id) not in self._desk_sale_ids:
            self._desk_sale_ids.add((chain_id, row.visit_id))
            self.desk_sales[(chain_id, row.client_id)].append(row)

    def add_desk_sale(self, chain_id: str, row: VisitRow) -> bool:
        """A desk sale counted from now on; False (and nothing done) for an operation counted before."""
        if (chain_id, row.visit_id) in self._desk_sale_ids:
            return False
        self.know_desk_sale(chain_id, row)
        self.new_desk_sales.append((chain_id, row))
        return True

    # --- cards and points ----------------------------------------------------------------------

    def card_by_ref(self, chain_id: str, ref: str, as_id: str | None) -> Card | None:
        """A card by its id (`as_id`: the reference read as one, if it reads) or its number."""
        card_id = as_id if as_id is not None and (chain_id, as_id) in self.cards else self.numbers.get((chain_id, ref))
        return self.cards.get((chain_id, card_id)) if card_id is not None else None

    def cards_of(self, chain_id: str, client_id: str) -> list[Card]:
        return [self.cards[(chain_id, i)] for i in self.client_cards.get((chain_id, client_id), [])]

    def card_type(self, chain_id: str, card: Card) -> CardType | None:
        return self.card_types.get((chain_id, card.card_type_id))

    def promotions_of(self, chain_id: str, card_type_id: str) -> list[Promotion]:
        return self.promotions.get((chain_id, card_type_id), [])

    def take_oldest(self, chain_id: str, card_id: str, amount: Decimal) -> Take | None:
        """Takes `amount` points from the card's oldest lots (domain.take_oldest); None when they hold less."""
        lots = self.lots.get((chain_id, card_id), [])
        take = take_oldest(lots, amount)
        if take is None or not take.taken:
            return take
        self.lots[(chain_id, card_id)] = [
            replace(lot, remaining=lot.remaining - take.taken.get(lot.id, Decimal(0))) for lot in lots
        ]
        for lot_id, part in take.taken.items():
            if lot_id < NEW_LOT_IDS:
                self.taken[(chain_id, lot_id)] += part
        return take

    def add_lot(
        self,
        chain_id: str,
        card_id: str,
        at: datetime,
        amount: Decimal,
        burns_at: datetime | None,
        notice_at: datetime | None,
        promotion_id: str | None,
        visit_id: str | None,
    ) -> None:
        key = NEW_LOT_IDS + len(self.new_lots)
        self.new_lots.append(NewLot(chain_id, card_id, at, amount, burns_at, notice_at, promotion_id, visit_id, key))
        self.lots.setdefault((chain_id, card_id), []).append(Lot(key, at, amount))

    def new_lot_remaining(self, lot: NewLot) -> Decimal:
        return next(x.remaining for x in self.lots[(lot.chain_id, lot.card_id)] if x.id == lot.key)

    def move_points(
        self,
        chain_id: str,
        card_id: str,
        at: datetime,
        kind: str,
        amount: Decimal,
        *,
        visit_id: str | None = None,
        promotion_id: str | None = None,
        location_id: str | None = None,
        reason: str | None = None,
    ) -> Decimal:
        """Changes the card's balance by `amount` (signed) and records the transaction; answers the
        balance after it."""
        card = self.cards[(chain_id, card_id)]
        balance = card.balance + amount
        self.cards[(chain_id, card_id)] = replace(card, balance=balance)
        self.moves.append(
            Move(chain_id, card_id, at, kind, amount, balance, visit_id, promotion_id, location_id, reason)
        )
        if kind == "accrual" and promotion_id is not None:
            self.uses[(chain_id, card_id, promotion_id)] += 1  # what `uses` counts: accruals by the promotion
        return balance

    # --- the location programs' states ---------------------------------------------------------

    def program(self, chain_id: str, location_id: str) -> Program | None:
        return self.programs.get((chain_id, location_id))

    def state(self, chain_id: str, location_id: str, client_id: str) -> LoyaltyState:
        return self.states.get((chain_id, location_id, client_id), LoyaltyState())

    def set_state(self, chain_id: str, location_id: str, client_id: str, state: LoyaltyState) -> None:
        self.states[(chain_id, location_id, client_id)] = state
        self.states_changed.add((chain_id, location_id, client_id))
