"""`inventory.stock_low`, `inventory.membership_sale_refused` and `inventory.gift_card_sale_refused` → a
notice to the location's administrator contact."""

from __future__ import annotations

from services.notifications import domain
from services.notifications.domain import Draft
from services.notifications.domain.kinds import SALE_REFUSALS
from services.notifications.usecases.notify import notifier
from shared.events import GiftCardSaleRefused, MembershipSaleRefused, StockLow


def stock_low_draft(e: StockLow) -> Draft:
    return Draft(
        type="inventory.stock_low",
        chain_id=e.chain_id,
        location_id=e.location_id,
        client=domain.Recipient(None, None),
        values={
            "client_name": "",
            "product_name": e.product_name,
            "storage_id": e.storage_id,
            "stock": domain.quantity(e.balance, e.unit),
            "min_stock": domain.quantity(e.min_stock, e.unit) if e.min_stock is not None else "not set",
            "unit": e.unit,
            "reason": e.reason,
        },
        source_event_id=e.event_id,
        occurred_at=e.occurred_at,
    )


def _sale_refused(
    notice_type: str, e: MembershipSaleRefused | GiftCardSaleRefused, code_placeholder: str, reasons: dict[str, str]
) -> Draft:
    """About the client (the notice names them), to the administrator: the client paid for a unit that was
    not issued."""
    chosen = e.code is not None and e.code.lower() != "auto"
    return Draft(
        type=notice_type,
        chain_id=e.chain_id,
        location_id=e.location_id,
        client=domain.Recipient(e.client.id, e.client.phone),
        values={
            "client_name": e.client.name or e.client.id,
            code_placeholder: e.code if chosen else "without a code",
            "type_name": e.product_name,
            "reason": e.reason,
            "reason_text": reasons.get(e.reason, e.reason.replace("_", " ")),
            "amount": e.amount,
            "operation_number": e.operation_number,
            "source": e.source,
            "client_phone": e.client.phone or "",
        },
        source_event_id=e.event_id,
        occurred_at=e.occurred_at,
    )


def sale_refused_draft(e: MembershipSaleRefused) -> Draft:
    return _sale_refused("inventory.membership_sale_refused", e, "membership_code", SALE_REFUSALS)


def gift_card_sale_refused_draft(e: GiftCardSaleRefused) -> Draft:
    return _sale_refused("inventory.gift_card_sale_refused", e, "gift_card_code", domain.GIFT_CARD_SALE_REFUSALS)


notify_stock_low = notifier(stock_low_draft)
notify_membership_sale_refused = notifier(sale_refused_draft)
notify_gift_card_sale_refused = notifier(gift_card_sale_refused_draft)
