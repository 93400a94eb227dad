"""The loyalty domain's numbers: points and money are Decimal, every computed amount rounded half-up to
2 decimals (a promotion may ask for whole points, also half-up)."""

from decimal import ROUND_HALF_UP, Decimal

CENTS = Decimal("0.01")
WHOLE = Decimal("1")
ZERO = Decimal("0")
HUNDRED = Decimal("100")


def round_points(amount: Decimal, whole: bool = False) -> Decimal:
    return amount.quantize(WHOLE if whole else CENTS, ROUND_HALF_UP).quantize(CENTS)
