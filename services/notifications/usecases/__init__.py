"""Every command and query of the notifications service (the app index)."""

from services.notifications.usecases.configure import (
    delete_template,
    get_opt_out,
    get_settings,
    list_templates,
    save_opt_out,
    save_settings,
    save_template,
)
from services.notifications.usecases.notify_inventory import (
    notify_gift_card_sale_refused,
    notify_membership_sale_refused,
    notify_stock_low,
)
from services.notifications.usecases.notify_loyalty import (
    notify_bonus_accrued,
    notify_bonus_burned,
    notify_bonus_burning,
    notify_bonus_spent,
    notify_discount_changed,
    notify_discount_expiring,
    notify_level_changed,
    notify_referral_rewarded,
)
from services.notifications.usecases.notify_memberships import (
    notify_activated,
    notify_deduction,
    notify_deduction_rejected,
    notify_deduction_reversed,
    notify_expired,
    notify_expiring,
    notify_frozen,
    notify_issued,
    notify_unfrozen,
)
from services.notifications.usecases.notify_wallet import (
    notify_account_charged,
    notify_account_topped_up,
    notify_gift_card_charged,
    notify_gift_card_expiring,
    notify_gift_card_issued,
    notify_payment_rejected,
)
from services.notifications.usecases.queries import list_notices
from services.notifications.usecases.receipts import UnknownNotice, record_receipts
from services.notifications.usecases.release_held import RELEASE_HELD, release_held

__all__ = [
    "RELEASE_HELD",
    "UnknownNotice",
    "delete_template",
    "get_opt_out",
    "get_settings",
    "list_notices",
    "list_templates",
    "notify_account_charged",
    "notify_account_topped_up",
    "notify_activated",
    "notify_bonus_accrued",
    "notify_bonus_burned",
    "notify_bonus_burning",
    "notify_bonus_spent",
    "notify_deduction",
    "notify_deduction_rejected",
    "notify_deduction_reversed",
    "notify_discount_changed",
    "notify_discount_expiring",
    "notify_expired",
    "notify_expiring",
    "notify_frozen",
    "notify_gift_card_charged",
    "notify_gift_card_expiring",
    "notify_gift_card_issued",
    "notify_gift_card_sale_refused",
    "notify_issued",
    "notify_level_changed",
    "notify_membership_sale_refused",
    "notify_payment_rejected",
    "notify_referral_rewarded",
    "notify_stock_low",
    "notify_unfrozen",
    "record_receipts",
    "release_held",
    "save_opt_out",
    "save_settings",
    "save_template",
]
