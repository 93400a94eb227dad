"""Promotions attached from the card type's side (the seed: "in the card type settings and in the
promotion settings"). Pure: the standard library only.

There is one association: a promotion's `card_type_ids`. A card type's `promotion_ids` are the
promotions that list it, and setting them adds the card type to the promotions named and takes it off
the others that listed it, so either side's change shows on the other at once. Like a promotion's
`card_type_ids`, a card type's `promotion_ids` replace the set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.loyalty.domain import MAX_LIVE_PROMOTIONS

MAX_CARD_TYPES_PER_PROMOTION = 100  # a promotion's card_type_ids (its body's bound)
MAX_PROMOTIONS_PER_CARD_TYPE = 1_000  # a card type's promotion_ids: live (100 at most) and archived ones


@dataclass(frozen=True)
class Linked:
    """A promotion as the card type side sees it."""

    id: str
    card_type_ids: tuple[str, ...]
    archived: bool


@dataclass(frozen=True)
class Relink:
    """What setting a card type's promotions changes: the promotions that gain the card type and those
    that lose it; `promotion_ids` is the set afterwards."""

    attach: tuple[str, ...]
    detach: tuple[str, ...]
    promotion_ids: tuple[str, ...]


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    unknown: bool = False  # an id the chain does not have (422), not a rule of the association (409)


def relink(card_type_id: str, wanted: Sequence[str], found: Mapping[str, Linked]) -> Relink | Refusal:
    """The card type's promotions set to `wanted`. `found`: the chain's promotions among `wanted` and
    every promotion that lists the card type now, in the order they were made."""
    unknown = [p for p in dict.fromkeys(wanted) if p not in found]
    if unknown:
        return Refusal(
            "unknown_promotion", f"promotion_ids: no promotion {', '.join(unknown)} in this chain", unknown=True
        )
    keep = set(wanted)
    detach = [p for p in found.values() if card_type_id in p.card_type_ids and p.id not in keep]
    alone = [p.id for p in detach if set(p.card_type_ids) == {card_type_id}]
    if alone:
        return Refusal(
            "promotion_needs_card_type",
            f"promotion {', '.join(alone)} is on this card type only; a "
            "promotion needs a card type: attach it to another one first, or archive it and keep it here",
        )
    attach = [p for p in found.values() if p.id in keep and card_type_id not in p.card_type_ids]
    full = [p.id for p in attach if len(set(p.card_type_ids)) >= MAX_CARD_TYPES_PER_PROMOTION]
    if full:
        return Refusal(
            "too_many_card_types",
            f"promotion {', '.join(full)} is on {MAX_CARD_TYPES_PER_PROMOTION} card types already",
        )
    live = [p for p in found.values() if p.id in keep and not p.archived]
    if len(live) > MAX_LIVE_PROMOTIONS:
        return Refusal(
            "too_many_promotions",
            f"{len(live)} live promotions: a card type has {MAX_LIVE_PROMOTIONS} at most (archive one first)",
        )
    return Relink(
        tuple(p.id for p in attach), tuple(p.id for p in detach), tuple(p.id for p in found.values() if p.id in keep)
    )
