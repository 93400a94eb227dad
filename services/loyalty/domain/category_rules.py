"""Category removal must not contradict assignment (the seed: removal rules "should not contradict the
logic of category assignment"). Pure: the standard library only.

A remove rule takes its category away from every client whose statistic on its basis reaches its
`from`. It contradicts an assignment when every client the assignment gives the category to is also
one the remove rule takes it from, so that the assignment can never show:

- an add rule of the same category and the same basis from a threshold at or above the remove rule's
  (value >= add.from >= remove.from): the category would be given and taken away at once;
- any assignment of the category (an add rule on any basis, `on_status`, an `inactive` rule) when the
  remove rule starts at 0: every statistic is at least 0, so it removes the category from everyone.

Across two bases with a remove threshold above 0 nothing can be shown: the statistics move
independently (visits count arrivals, sold and paid count payments; paid may be below sold, or above
it), so a client may reach the add rule's threshold and not the remove rule's.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.loyalty.domain import ZERO, CategoryRule, Program


@dataclass(frozen=True)
class Contradiction:
    """The remove rule at `remove` (its index in `category_rules.remove`) cancels the assignment at
    `assignment` (the field that gives the category: `category_rules.add.1`, `category_rules.inactive.0`,
    `category_rules.on_status.arrived`)."""

    remove: int
    assignment: str
    reason: str

    @property
    def field(self) -> str:
        return f"category_rules.remove.{self.remove}"


def _threshold(rule: CategoryRule) -> str:
    return f"{rule.basis} from {rule.threshold.normalize():f}"


def _assignments(p: Program) -> list[tuple[str, str, CategoryRule | None]]:
    """(field, category, the add rule or None) for everything that gives a category."""
    found: list[tuple[str, str, CategoryRule | None]] = [
        (f"category_rules.add.{i}", r.category, r) for i, r in enumerate(p.add_rules)
    ]
    if p.on_arrived:
        found.append(("category_rules.on_status.arrived", p.on_arrived, None))
    if p.on_no_show:
        found.append(("category_rules.on_status.no_show", p.on_no_show, None))
    found += [(f"category_rules.inactive.{i}", r.category, None) for i, r in enumerate(p.inactive_rules)]
    return found


def contradictions(p: Program) -> list[Contradiction]:
    """Every (remove rule, assignment) pair where the remove rule cancels the assignment for every
    client the assignment reaches; in the remove rules' order, then the assignments'."""
    found = []
    assignments = _assignments(p)
    for i, remove in enumerate(p.remove_rules):
        for field, category, add in assignments:
            if category != remove.category:
                continue
            if remove.threshold == ZERO:
                why = (
                    f"removes {category!r} from every client ({_threshold(remove)}: every statistic is at "
                    f"least 0), so {field} never gives it"
                )
            elif add is not None and add.basis == remove.basis and remove.threshold <= add.threshold:
                why = (
                    f"removes {category!r} ({_threshold(remove)}) from every client {field} gives it to "
                    f"({_threshold(add)}): a removal must start above the threshold that assigns the category"
                )
            else:
                continue
            found.append(Contradiction(i, field, why))
    return found
