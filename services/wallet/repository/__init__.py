"""All SQL of the wallet service. Every query is scoped by chain_id: types.py (gift card types), cards.py
(gift cards, their ledger, the visits' payments), accounts.py (client accounts, their ledger, settings),
report.py (the reports)."""

from services.wallet.repository.accounts import AccountQueries
from services.wallet.repository.cards import CardQueries
from services.wallet.repository.report import ReportQueries
from services.wallet.repository.types import TypeQueries


class Repository(TypeQueries, CardQueries, AccountQueries, ReportQueries):
    """One chain's queries."""


__all__ = ["Repository"]
