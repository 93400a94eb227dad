"""All SQL of the wallet service. Every query is scoped by chain_id: types.py (gift card types), cards.py
(gift cards, their ledger, the visits' payments), accounts.py (client accounts, their ledger, settings),
report.py (the reports), jobs.py (what the expiry jobs read)."""

from services.wallet.repository.accounts import AccountQueries
from services.wallet.repository.cards import CardQueries
from services.wallet.repository.jobs import JobQueries, chains_with_work
from services.wallet.repository.report import ReportQueries
from services.wallet.repository.types import TypeQueries


class Repository(TypeQueries, CardQueries, AccountQueries, ReportQueries, JobQueries):
    """One chain's queries."""


__all__ = ["Repository", "chains_with_work"]
