"""Every command and query of the loyalty service (the app index)."""

from services.loyalty.usecases.bonus import BURN_JOB, bonus_on_visit, burn_job, manual_transaction
from services.loyalty.usecases.card_types import create_card_type, get_card_type, list_card_types, patch_card_type
from services.loyalty.usecases.catalog import (
    create_promotion,
    find_cards,
    get_card,
    get_promotion,
    issue_card,
    list_promotions,
    patch_promotion,
)
from services.loyalty.usecases.desk_sales import record_desk_sales
from services.loyalty.usecases.discount_expiry import warn_discount_expiring
from services.loyalty.usecases.import_cards import import_cards
from services.loyalty.usecases.manual import set_manual
from services.loyalty.usecases.quote import quote_part
from services.loyalty.usecases.recalculate import (
    RecalcWorker,
    chains_for_inactivity,
    client_loyalty,
    get_program,
    inactivity_job,
    recalc_page,
    recalculate,
    recalculate_client,
    save_program,
)
from services.loyalty.usecases.record_visit import record_arrivals, record_no_shows, record_payments
from services.loyalty.usecases.referral_visits import record_payments_and_referrals
from services.loyalty.usecases.referrals import (
    get_referral_program,
    record_referral,
    referral_code,
    referral_offer_for,
    referrals_report,
    save_referral_program,
)
from services.loyalty.usecases.transactions_report import transactions_report, transactions_totals

__all__ = [
    "BURN_JOB",
    "RecalcWorker",
    "bonus_on_visit",
    "burn_job",
    "chains_for_inactivity",
    "client_loyalty",
    "create_card_type",
    "create_promotion",
    "find_cards",
    "get_card",
    "get_card_type",
    "get_program",
    "get_promotion",
    "get_referral_program",
    "import_cards",
    "inactivity_job",
    "issue_card",
    "list_card_types",
    "list_promotions",
    "manual_transaction",
    "patch_card_type",
    "patch_promotion",
    "quote_part",
    "recalc_page",
    "recalculate",
    "recalculate_client",
    "record_arrivals",
    "record_desk_sales",
    "record_no_shows",
    "record_payments",
    "record_payments_and_referrals",
    "record_referral",
    "referral_code",
    "referral_offer_for",
    "referrals_report",
    "save_program",
    "save_referral_program",
    "set_manual",
    "transactions_report",
    "transactions_totals",
    "warn_discount_expiring",
]
