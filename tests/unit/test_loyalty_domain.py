"""The loyalty rules, worked examples (the issue's seed examples first)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest

from services.loyalty import domain
from services.loyalty.domain import (
    CategoryRule,
    DiscountRule,
    History,
    InactiveRule,
    LevelRule,
    Lot,
    Program,
    Promotion,
    Stats,
    Tier,
    Visit,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SEED = Program(
    discount_rules=(DiscountRule("sold", D("5000"), D("5")), DiscountRule("visits", D("3"), D("5"))),
    discount_reset_after_days=60,
    level_rules=(
        LevelRule("bronze", D("20000"), None, 10),
        LevelRule("silver", D("50000"), None, 30),
        LevelRule("gold", D("100000"), None, 50),
    ),
    add_rules=(
        CategoryRule("sold", D("2000"), "Economy"),
        CategoryRule("paid", D("30000"), "VIP"),
        CategoryRule("visits", D("20"), "VIP"),
    ),
    remove_rules=(CategoryRule("sold", D("10000"), "Economy"),),
    on_no_show="Unreliable",
    inactive_rules=(InactiveRule(90, "Lost"),),
)


def stats(sold: str = "0", paid: str = "0", visits: int = 0, days_ago: int = 1, no_shows: int = 0) -> Stats:
    return Stats(D(sold), D(paid), visits, no_shows, NOW - timedelta(days=days_ago), None)


# --- discounts ----------------------------------------------------------------------------------


def test_5000_sold_gives_5_percent_and_4999_99_gives_none() -> None:
    assert domain.discount(SEED, stats(sold="5000"), NOW) == D("5")
    assert domain.discount(SEED, stats(sold="4999.99"), NOW) == D("0")


def test_more_than_2_visits_gives_5_percent() -> None:
    assert domain.discount(SEED, stats(visits=2), NOW) == D("0")
    assert domain.discount(SEED, stats(visits=3), NOW) == D("5")


def test_the_highest_qualifying_discount_wins() -> None:
    p = Program(
        discount_rules=(
            DiscountRule("sold", D("5000"), D("5")),
            DiscountRule("paid", D("8000"), D("10")),
            DiscountRule("visits", D("3"), D("7")),
        )
    )
    assert domain.discount(p, stats(sold="9000", paid="8000", visits=5), NOW) == D("10")
    assert domain.discount(p, stats(sold="9000", paid="7999", visits=5), NOW) == D("7")


def test_60_days_without_a_visit_resets_the_discount_to_0() -> None:
    assert domain.discount(SEED, stats(sold="6000", days_ago=59), NOW) == D("5")
    assert domain.discount(SEED, stats(sold="6000", days_ago=60), NOW) == D("0")


def test_inactivity_counts_from_the_last_payment_when_no_visit_was_marked_arrived() -> None:
    s = Stats(D("6000"), D("6000"), 0, 0, None, NOW - timedelta(days=61))
    assert domain.discount(SEED, s, NOW) == D("0")
    never = Stats(D("6000"), D("6000"), 0, 0, None, None)
    assert domain.discount(SEED, never, NOW) == D("5")


def test_the_discount_expires_60_days_after_the_last_visit() -> None:
    s = stats(sold="6000", days_ago=10)
    assert domain.discount_expires_at(SEED, s) == NOW + timedelta(days=50)


# --- levels -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sold", "visits", "level"),
    [
        ("19999.99", 9, None),
        ("20000", 0, "bronze"),
        ("0", 10, "bronze"),
        ("50000", 0, "silver"),
        ("0", 30, "silver"),
        ("100000", 0, "gold"),
        ("0", 50, "gold"),
        ("20000", 50, "gold"),
        ("99999", 49, "silver"),
    ],
)
def test_levels_by_any_one_criterion_the_highest_wins(sold: str, visits: int, level: str | None) -> None:
    assert domain.level(SEED, stats(sold=sold, visits=visits), NOW) == level


def test_a_level_is_removed_after_n_days_without_a_visit() -> None:
    p = Program(level_rules=SEED.level_rules, level_reset_after_days=180)
    assert domain.level(p, stats(visits=30, days_ago=179), NOW) == "silver"
    assert domain.level(p, stats(visits=30, days_ago=180), NOW) is None


# --- categories ---------------------------------------------------------------------------------


def test_2000_sold_is_economy_30000_paid_is_vip_20_visits_is_vip() -> None:
    assert domain.categories(SEED, stats(sold="2000"), NOW) == ("Economy",)
    assert domain.categories(SEED, stats(sold="1999.99"), NOW) == ()
    assert domain.categories(SEED, stats(sold="9000", paid="30000"), NOW) == ("Economy", "VIP")
    assert domain.categories(SEED, stats(visits=20), NOW) == ("VIP",)


def test_a_remove_rule_takes_its_category_away() -> None:
    assert domain.categories(SEED, stats(sold="10000"), NOW) == ()
    assert domain.categories(SEED, stats(sold="40000", paid="40000"), NOW) == ("VIP",)


def test_90_days_without_a_visit_is_lost() -> None:
    assert domain.categories(SEED, stats(sold="2000", days_ago=89), NOW) == ("Economy",)
    assert domain.categories(SEED, stats(sold="2000", days_ago=90), NOW) == ("Economy", "Lost")


def test_a_no_show_gives_its_category_and_an_arrival_its_own() -> None:
    assert domain.categories(SEED, stats(no_shows=1), NOW) == ("Unreliable",)
    p = Program(on_arrived="Came", on_no_show="Unreliable")
    assert domain.categories(p, stats(visits=1), NOW) == ("Came",)
    assert domain.categories(p, stats(visits=1, no_shows=2), NOW) == ("Came", "Unreliable")


def test_evaluate_puts_it_together() -> None:
    state = domain.evaluate(SEED, stats(sold="25000", paid="24000", visits=4), NOW)
    assert state == domain.LoyaltyState(D("5"), "bronze", ())
    assert domain.evaluate(SEED, stats(sold="25000", visits=4, days_ago=100), NOW) == domain.LoyaltyState(
        D("0"), "bronze", ("Lost",)
    )


def test_the_time_driven_rules_and_their_shortest_period() -> None:
    assert SEED.time_driven() and SEED.inactive_periods() == [60, 90]
    assert not Program(discount_rules=SEED.discount_rules).time_driven()


# --- cashback -----------------------------------------------------------------------------------


def promo(kind: str, **fields: object) -> Promotion:
    return Promotion(id="p", name="Cashback", type=kind, **fields)  # type: ignore[arg-type]


TIERS = (Tier(D("0"), D("3")), Tier(D("10000"), D("5")))


def test_fixed_cashback_is_a_percent_of_this_visits_sold_or_paid_total() -> None:
    v = Visit(D("1000"), D("900"))
    assert domain.cashback(promo("fixed_cashback_sold", percent=D("3")), v, History(), 0) == D("30.00")
    assert domain.cashback(promo("fixed_cashback_paid", percent=D("3")), v, History(), 0) == D("27.00")


def test_cumulative_cashback_takes_its_tier_from_the_history_total_this_visit_included() -> None:
    p = promo("cumulative_cashback_sold", rules=TIERS)
    v = Visit(D("1000"), D("1000"))
    assert domain.cashback(p, v, History(D("9999.99"), D("0"), 9), 0) == D("30.00")
    assert domain.cashback(p, v, History(D("10000"), D("0"), 10), 0) == D("50.00")
    paid = promo("cumulative_cashback_paid", rules=TIERS)
    assert domain.cashback(paid, Visit(D("2000"), D("1000")), History(D("20000"), D("9000"), 3), 0) == D("30.00")


def test_cumulative_visits_cashback_takes_its_tier_from_the_number_of_visits() -> None:
    p = promo("cumulative_visits_cashback_paid", rules=(Tier(D("1"), D("2")), Tier(D("5"), D("10"))))
    v = Visit(D("1000"), D("800"))
    assert domain.cashback(p, v, History(visits=4), 0) == D("16.00")
    assert domain.cashback(p, v, History(visits=5), 0) == D("80.00")
    assert domain.cashback(p, v, History(visits=0), 0) == D("0")


def test_per_visit_cashback_takes_its_tier_from_this_visits_own_total() -> None:
    p = promo("visit_cashback_sold", rules=(Tier(D("500"), D("1")), Tier(D("3000"), D("4"))))
    assert domain.cashback(p, Visit(D("499"), D("499")), History(D("90000"), D("0"), 40), 0) == D("0")
    assert domain.cashback(p, Visit(D("2999"), D("0")), History(), 0) == D("29.99")
    assert domain.cashback(p, Visit(D("3000"), D("0")), History(), 0) == D("120.00")
    paid = promo("visit_cashback_paid", rules=(Tier(D("500"), D("1")), Tier(D("3000"), D("4"))))
    assert domain.cashback(paid, Visit(D("3000"), D("600")), History(), 0) == D("6.00")


def test_cashback_rounds_half_up_to_cents_or_to_whole_points() -> None:
    v = Visit(D("333.50"), D("0"))
    assert domain.cashback(promo("fixed_cashback_sold", percent=D("3")), v, History(), 0) == D("10.01")  # 10.005
    whole = promo("fixed_cashback_sold", percent=D("3"), rounding="whole")
    assert domain.cashback(whole, Visit(D("350"), D("0")), History(), 0) == D("11.00")  # 10.5
    assert domain.cashback(whole, Visit(D("340"), D("0")), History(), 0) == D("10.00")  # 10.2


def test_every_3rd_visit_accrues_only_on_the_3rd_6th_and_9th() -> None:
    p = promo("fixed_cashback_sold", percent=D("10"), every_nth_visit=3)
    v = Visit(D("100"), D("100"))
    accrued = [n for n in range(1, 10) if domain.cashback(p, v, History(visits=n), 0) > 0]
    assert accrued == [3, 6, 9]


def test_max_uses_caps_the_accruals_per_card_and_0_is_unlimited() -> None:
    v = Visit(D("100"), D("100"))
    capped = promo("fixed_cashback_sold", percent=D("10"), max_uses=2)
    assert [domain.cashback(capped, v, History(visits=1), uses) for uses in (0, 1, 2)] == [
        D("10.00"),
        D("10.00"),
        D("0"),
    ]
    assert domain.cashback(promo("fixed_cashback_sold", percent=D("10")), v, History(visits=1), 500) == D("10.00")


def test_history_start_counts_only_the_later_5_of_10_visits() -> None:
    # The repository filters the history by date; here the same rule over ten visits, 2022-08-10 to -19.
    start = date(2022, 8, 15)
    visits = [date(2022, 8, 10) + timedelta(days=i) for i in range(10)]
    counted = [d for d in visits if d >= start]
    assert len(counted) == 5
    p = promo(
        "cumulative_visits_cashback_sold", rules=(Tier(D("1"), D("1")), Tier(D("6"), D("5"))), history_start=start
    )
    # The tenth visit is the 5th counted one: the 1% tier, not the 5% one that 10 visits would reach.
    assert domain.cashback(p, Visit(D("1000"), D("0")), History(visits=len(counted)), 0) == D("10.00")


def test_the_history_source_names_the_locations_that_count() -> None:
    assert promo("fixed_cashback_sold", location_ids=("a",)).history_locations(("b",)) is None
    assert promo("fixed_cashback_sold", history_source="active_locations", location_ids=("a",)).history_locations(
        ("b",)
    ) == ("a",)
    assert promo("fixed_cashback_sold", history_source="card_locations").history_locations(("b", "c")) == ("b", "c")
    assert promo("fixed_cashback_sold", history_source="card_locations").history_locations(()) is None


def test_a_promotion_is_active_at_its_locations_or_everywhere_without_any() -> None:
    assert promo("fixed_cashback_sold").active_at("x")
    assert promo("fixed_cashback_sold", location_ids=("a",)).active_at("a")
    assert not promo("fixed_cashback_sold", location_ids=("a",)).active_at("b")
    assert not promo("fixed_cashback_sold", archived=True).active_at("a")


def test_points_burn_after_the_period_with_a_notice_days_before() -> None:
    p = promo("fixed_cashback_sold", burn_after_n=6, burn_after_unit="month", burn_notice_days=7)
    at = datetime(2026, 8, 31, 10, 0, tzinfo=UTC)
    burns = p.burns_at(at)
    assert burns == datetime(2027, 2, 28, 10, 0, tzinfo=UTC)  # the day clamped to February's end
    assert p.notice_at(burns) == datetime(2027, 2, 21, 10, 0, tzinfo=UTC)
    assert promo("fixed_cashback_sold").burns_at(at) is None
    assert promo("fixed_cashback_sold", burn_after_n=10, burn_after_unit="day").burns_at(at) == at + timedelta(days=10)


# --- points taken oldest first ------------------------------------------------------------------


def test_spending_takes_the_oldest_points_first() -> None:
    lots = [Lot(2, NOW, D("30")), Lot(1, NOW - timedelta(days=5), D("20")), Lot(3, NOW, D("0"))]
    take = domain.take_oldest(lots, D("35"))
    assert take is not None and take.taken == {1: D("20"), 2: D("15")} and take.total == D("35")


def test_more_than_the_balance_takes_nothing() -> None:
    assert domain.take_oldest([Lot(1, NOW, D("20"))], D("20.01")) is None
    assert domain.take_oldest([], D("0")) == domain.Take()


def test_an_accrual_spend_and_burn_sequence_keeps_the_balance_exact() -> None:
    lots = {1: Lot(1, NOW, D("33.33")), 2: Lot(2, NOW + timedelta(days=1), D("16.67"))}
    take = domain.take_oldest(lots.values(), D("40"))
    assert take is not None
    left = {i: lot.remaining - take.taken.get(i, D("0")) for i, lot in lots.items()}
    assert left == {1: D("0"), 2: D("10.00")}
    assert D("33.33") + D("16.67") - D("40") - left[2] == D("0")  # the rest burns: nothing lost, nothing made
