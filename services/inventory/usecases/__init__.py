"""Every command and query of the inventory service, one module each (the app index)."""

from services.inventory.usecases.catalog import create_category, create_product, create_storage, update_product
from services.inventory.usecases.codes import remember_issued_codes, remember_issued_gift_card_codes
from services.inventory.usecases.consumables import write_off_on_arrival
from services.inventory.usecases.post_operation import post_operation
from services.inventory.usecases.queries import (
    get_bills_of_materials,
    get_operation,
    get_product,
    get_settings,
    list_categories,
    list_operations,
    list_products,
    list_storages,
    stock,
)
from services.inventory.usecases.refused import refuse_gift_card_sale, refuse_membership_sale
from services.inventory.usecases.settings import put_bill_of_materials, put_settings
from services.inventory.usecases.sync_membership_type import sync_gift_card_type, sync_membership_type
from services.inventory.usecases.visit_paid import apply_paid_visits

__all__ = [
    "apply_paid_visits",
    "create_category",
    "create_product",
    "create_storage",
    "get_bills_of_materials",
    "get_operation",
    "get_product",
    "get_settings",
    "list_categories",
    "list_operations",
    "list_products",
    "list_storages",
    "post_operation",
    "put_bill_of_materials",
    "put_settings",
    "refuse_gift_card_sale",
    "refuse_membership_sale",
    "remember_issued_codes",
    "remember_issued_gift_card_codes",
    "stock",
    "sync_gift_card_type",
    "sync_membership_type",
    "update_product",
    "write_off_on_arrival",
]
