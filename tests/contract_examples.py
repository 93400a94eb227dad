"""Example bodies of docs/contract.md, written once for the unit and the integration tests."""

from typing import Any

LOYALTY_PROGRAM: dict[str, Any] = {
    "discount_rules": [
        {"basis": "sold", "from": "5000", "percent": "5"},
        {"basis": "visits", "from": "3", "percent": "5"},
    ],
    "discount_reset_after_days": 60,
    "level_rules": [
        {"level": "bronze", "sold_from": "20000", "paid_from": None, "visits_from": 10},
        {"level": "silver", "sold_from": "50000", "paid_from": None, "visits_from": 30},
        {"level": "gold", "sold_from": "100000", "paid_from": None, "visits_from": 50},
    ],
    "level_reset_after_days": None,
    "category_rules": {
        "add": [
            {"basis": "sold", "from": "2000", "category": "Economy"},
            {"basis": "paid", "from": "30000", "category": "VIP"},
            {"basis": "visits", "from": "20", "category": "VIP"},
        ],
        "on_status": {"arrived": None, "no_show": "Unreliable"},
        "inactive": [{"days": 90, "category": "Lost"}],
        "remove": [{"basis": "sold", "from": "10000", "category": "Economy"}],
    },
    "notify_discount_expiration": True,
    "discount_expiration_notice_days": 7,
}
