"""A visit's row as its events leave it, the statistics and history folded from a client's rows, and a
batch's books: each record sees what the earlier ones of its batch did."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

from services.loyalty.domain import History, Lot, LoyaltyState, Stats
from services.loyalty.domain.books import NEW_LOT_IDS, Books
from services.loyalty.domain.cards import Card
from services.loyalty.domain.visits import VisitRow, history_of, stats_of, status_replaces, visit_paid, visit_status

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_a_payment_keeps_where_and_whose_the_visit_is_and_replaces_its_totals() -> None:
    row = visit_status(None, "v1", "loc-1", "cl-1", "arrived", T0, T0 - timedelta(hours=1))
    paid = visit_paid(row, "v1", "loc-2", "cl-2", D("100"), D("90"), T0 + timedelta(hours=1))
    assert (paid.location_id, paid.client_id, paid.status) == ("loc-1", "cl-1", "arrived")
    assert (paid.sold, paid.paid, paid.paid_at) == (D("100"), D("90"), T0 + timedelta(hours=1))
    again = visit_paid(paid, "v1", "loc-1", "cl-1", D("50"), D("50"), T0 + timedelta(hours=2))
    assert (again.sold, again.paid) == (D("50"), D("50"))


def test_a_status_reported_earlier_than_the_one_held_is_ignored_and_a_tie_replaces() -> None:
    arrived = visit_status(None, "v1", "loc-1", "cl-1", "arrived", T0, T0)
    assert visit_status(arrived, "v1", "loc-1", "cl-1", "no_show", T0 - timedelta(seconds=1), T0) == arrived
    assert visit_status(arrived, "v1", "loc-1", "cl-1", "no_show", T0, T0).status == "no_show"
    assert status_replaces(None, T0) and status_replaces(T0, T0) and not status_replaces(T0, T0 - timedelta(1))


def test_stats_count_arrived_visits_and_no_shows_and_sum_what_was_paid() -> None:
    rows = [
        VisitRow("v1", "loc-1", "cl-1", D("100"), D("90"), T0, "arrived", T0, T0 - timedelta(days=2)),
        VisitRow("v2", "loc-1", "cl-1", D("50"), D("50"), T0 + timedelta(days=1)),
        VisitRow("v3", "loc-1", "cl-1", status="no_show", status_at=T0, scheduled_at=T0),
        VisitRow("v4", "loc-1", "cl-1", status="arrived", status_at=T0 + timedelta(days=3)),
    ]
    assert stats_of(rows) == Stats(D("150"), D("140"), 2, 1, T0 + timedelta(days=3), T0 + timedelta(days=1))
    assert stats_of([]) == Stats()


def test_history_counts_paid_visits_up_to_this_one_at_its_locations_from_its_start() -> None:
    day = timedelta(days=1)
    rows = [VisitRow(f"v{i}", "loc-1" if i % 2 else "loc-2", "cl-1", D("10"), D("8"), T0 + i * day) for i in range(6)]
    rows.append(VisitRow("v9", "loc-1", "cl-1", status="arrived", status_at=T0))  # never paid: not counted
    assert history_of(rows, None, None, T0 + 3 * day, "v3") == History(D("40"), D("32"), 4)
    assert history_of(rows, ("loc-1",), None, T0 + 3 * day, "v3") == History(D("20"), D("16"), 2)
    assert history_of(rows, None, (T0 + 2 * day).date(), T0 + 5 * day, "v5") == History(D("40"), D("32"), 4)
    # A visit paid at the same moment counts when its id sorts first.
    tie = [VisitRow("a", "loc-1", "cl-1", D("1"), D("1"), T0), VisitRow("b", "loc-1", "cl-1", D("1"), D("1"), T0)]
    assert history_of(tie, None, None, T0, "a").visits == 1 and history_of(tie, None, None, T0, "b").visits == 2
    assert history_of(rows, None, date(2030, 1, 1), T0 + 5 * day, "v5") == History()


def test_a_later_record_of_a_batch_sees_the_earlier_ones_visits_balances_lots_and_uses() -> None:
    books = Books(T0)
    card = Card("c1", "t1", "cl-1", None, "N-1", D("10.00"), T0)
    books.know_card("ch", card)
    books.lots[("ch", "c1")] = [Lot(7, T0, D("10.00"))]
    books.put_visit("ch", visit_paid(None, "v1", "loc-1", "cl-1", D("100"), D("100"), T0))
    books.add_lot("ch", "c1", T0 - timedelta(days=1), D("5.00"), None, None, "p1", "v1")  # back-dated: oldest
    assert books.move_points("ch", "c1", T0, "accrual", D("5.00"), promotion_id="p1") == D("15.00")
    assert books.uses[("ch", "c1", "p1")] == 1

    books.put_visit("ch", visit_paid(None, "v2", "loc-1", "cl-1", D("50"), D("50"), T0 + timedelta(hours=1)))
    assert books.history("ch", "cl-1", None, None, T0 + timedelta(hours=1), "v2") == History(D("150"), D("150"), 2)
    assert books.stats("ch", "loc-1", "cl-1").sold == D("150")
    take = books.take_oldest("ch", "c1", D("7.00"))
    assert take is not None and take.taken == {NEW_LOT_IDS: D("5.00"), 7: D("2.00")}  # the new lot first
    assert books.move_points("ch", "c1", T0, "spend", D("-7.00")) == D("8.00")
    assert books.take_oldest("ch", "c1", D("8.01")) is None  # what is left: 8.00
    assert dict(books.taken) == {("ch", 7): D("2.00")}
    [new] = books.new_lots
    assert books.new_lot_remaining(new) == D("0.00")
    assert books.card_by_ref("ch", "N-1", None) == books.card_by_ref("ch", "x", "c1")
    assert books.cards[("ch", "c1")].balance == D("8.00")
    assert [m.balance_after for m in books.moves] == [D("15.00"), D("8.00")]


def test_a_client_s_phone_and_name_keep_what_an_event_leaves_out() -> None:
    books = Books(T0)
    books.clients[("ch", "cl-1")] = ("+3611", "Anna")
    books.tell_client("ch", "cl-1", None, "Anna B")
    books.tell_client("ch", "cl-1", "+3622", None)
    assert books.clients[("ch", "cl-1")] == ("+3622", "Anna B")
    assert books.clients_told[("ch", "cl-1")] == ("+3622", "Anna B")
    books.set_state("ch", "loc-1", "cl-1", LoyaltyState(D("5")))
    assert books.state("ch", "loc-1", "cl-1").discount_percent == D("5") and books.states_changed
