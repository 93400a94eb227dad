"""Category removal must not contradict assignment: which remove rules cancel an assignment for every
client it reaches (services/loyalty/domain/category_rules.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

from services.loyalty import domain
from services.loyalty.domain import CategoryRule, InactiveRule, Program, Stats
from services.loyalty.domain.category_rules import contradictions

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def rule(basis: str, threshold: str, category: str = "Economy") -> CategoryRule:
    return CategoryRule(basis, D(threshold), category)


def fields(p: Program) -> list[tuple[str, str]]:
    return [(c.field, c.assignment) for c in contradictions(p)]


def test_the_seed_example_removes_above_the_assignment_and_is_accepted() -> None:
    # Economy from 2,000 sold, taken away again from 10,000 sold: clients in between keep it.
    p = Program(add_rules=(rule("sold", "2000"),), remove_rules=(rule("sold", "10000"),))
    assert contradictions(p) == []
    assert domain.categories(p, Stats(sold=D("5000")), NOW) == ("Economy",)


def test_a_removal_at_or_below_the_same_basis_threshold_is_refused_naming_both_rules() -> None:
    for remove_from in ("2000", "1999.99", "500"):
        p = Program(add_rules=(rule("sold", "2000"),), remove_rules=(rule("sold", remove_from),))
        [c] = contradictions(p)
        assert (c.field, c.assignment) == ("category_rules.remove.0", "category_rules.add.0")
        assert "'Economy'" in c.reason and "sold from 2000" in c.reason and f"sold from {remove_from}" in c.reason
        # Why: every client the add rule reaches loses the category at once.
        assert domain.categories(p, Stats(sold=D("2000")), NOW) == ()
        assert domain.categories(p, Stats(sold=D("1000000")), NOW) == ()
    assert contradictions(Program(add_rules=(rule("sold", "2000"),), remove_rules=(rule("sold", "2000.01"),))) == []


def test_visits_and_paid_thresholds_compare_the_same_way() -> None:
    p = Program(
        add_rules=(rule("visits", "10", "Regular"), rule("paid", "30000", "VIP")),
        remove_rules=(rule("visits", "10", "Regular"), rule("paid", "40000", "VIP"), rule("paid", "25000", "VIP")),
    )
    assert fields(p) == [
        ("category_rules.remove.0", "category_rules.add.0"),
        ("category_rules.remove.2", "category_rules.add.1"),
    ]


def test_only_the_same_category_is_compared() -> None:
    p = Program(
        add_rules=(rule("sold", "2000", "Economy"),),
        remove_rules=(rule("sold", "1000", "economy"), rule("sold", "1000", "VIP")),
    )
    assert contradictions(p) == []


def test_across_bases_nothing_can_be_shown_above_zero() -> None:
    # Given at 5 visits, taken at 1,000 sold: a client with 5 free visits keeps it; one with 1,000 sold
    # in a single visit never had it. Neither rule decides the other.
    p = Program(add_rules=(rule("visits", "5"),), remove_rules=(rule("sold", "1000"),))
    assert contradictions(p) == []
    assert domain.categories(p, Stats(sold=D("0"), visits=5), NOW) == ("Economy",)
    # Sold and paid are independent too (a membership pays nothing at the visit; a tip pays more).
    p = Program(add_rules=(rule("paid", "5000"),), remove_rules=(rule("sold", "100"),))
    assert contradictions(p) == []
    assert domain.categories(p, Stats(sold=D("0"), paid=D("5000")), NOW) == ("Economy",)


def test_a_removal_from_zero_contradicts_every_assignment_of_its_category() -> None:
    p = Program(
        add_rules=(rule("visits", "3", "Regular"),),
        on_arrived="Regular",
        on_no_show="Unreliable",
        inactive_rules=(InactiveRule(90, "Regular"),),
        remove_rules=(rule("sold", "0", "Regular"),),
    )
    assert fields(p) == [
        ("category_rules.remove.0", "category_rules.add.0"),
        ("category_rules.remove.0", "category_rules.on_status.arrived"),
        ("category_rules.remove.0", "category_rules.inactive.0"),
    ]
    assert "from every client" in contradictions(p)[0].reason
    assert domain.categories(p, Stats(visits=3, last_visit_at=datetime(2025, 1, 1, tzinfo=UTC)), NOW) == ()
    p = Program(on_no_show="Unreliable", remove_rules=(rule("paid", "0", "Unreliable"),))
    assert fields(p) == [("category_rules.remove.0", "category_rules.on_status.no_show")]


def test_a_removal_of_a_category_nothing_assigns_is_no_contradiction() -> None:
    # It removes nothing (categories are derived, never stored by hand): allowed.
    assert contradictions(Program(remove_rules=(rule("sold", "0", "Ghost"),))) == []


def test_status_and_inactive_categories_with_a_threshold_above_zero_are_not_contradicted() -> None:
    # Arrived once gives Regular; 5 visits take it away: a client with 1 to 4 visits has it.
    p = Program(
        on_arrived="Regular",
        inactive_rules=(InactiveRule(90, "Lost"),),
        remove_rules=(rule("visits", "5", "Regular"), rule("sold", "1", "Lost")),
    )
    assert contradictions(p) == []
