"""Every command and query of the wallet service, one module each (the app index)."""

from services.wallet.usecases.deposit import deposit
from services.wallet.usecases.pay_visit import pay_visits
from services.wallet.usecases.refund import refund_visits
from services.wallet.usecases.sell import sell

__all__ = ["deposit", "pay_visits", "refund_visits", "sell"]
