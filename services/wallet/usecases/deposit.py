"""Placeholder: being written (issue 17)."""

from shared.events import AccountDeposit
from shared.uow import UnitOfWork


async def deposit(uow: UnitOfWork, events: list[AccountDeposit]) -> None:
    raise NotImplementedError("wallet: deposit")
