"""Every command and query of the wallet service, one module each (the app index)."""

from services.wallet.usecases.accounts import (
    get_account,
    get_allow_credit,
    movements,
    set_allow_credit,
    set_credit_limit,
    statement,
)
from services.wallet.usecases.adjust import adjust_account, edit_card
from services.wallet.usecases.cards import card_history, cards_of, get_card
from services.wallet.usecases.deposit import deposit, top_up
from services.wallet.usecases.jobs import JOBS
from services.wallet.usecases.pay_visit import pay_visits
from services.wallet.usecases.quote import quote_part
from services.wallet.usecases.refund import refund_visits
from services.wallet.usecases.report import account_report, gift_card_report
from services.wallet.usecases.sell import sell
from services.wallet.usecases.types import create_type, get_type, list_types, replace_type, set_archived

__all__ = [
    "JOBS",
    "account_report",
    "adjust_account",
    "card_history",
    "cards_of",
    "create_type",
    "deposit",
    "edit_card",
    "get_account",
    "get_allow_credit",
    "get_card",
    "get_type",
    "gift_card_report",
    "list_types",
    "movements",
    "pay_visits",
    "quote_part",
    "refund_visits",
    "replace_type",
    "sell",
    "set_allow_credit",
    "set_archived",
    "set_credit_limit",
    "statement",
    "top_up",
]
