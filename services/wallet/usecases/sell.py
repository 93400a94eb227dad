"""Placeholder: being written (issue 17)."""

from shared.events import GiftCardSold
from shared.uow import UnitOfWork


async def sell(uow: UnitOfWork, events: list[GiftCardSold]) -> None:
    raise NotImplementedError("wallet: sell")
