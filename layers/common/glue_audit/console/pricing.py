"""The price of a DPU-hour, per region and execution class, for the cost the console shows.

Defaults: the AWS Glue pricing page (https://aws.amazon.com/glue/pricing/), US East (N. Virginia):
Spark and Python shell jobs $0.44 per DPU-hour on the STANDARD execution class, $0.29 on FLEX.
Other regions cost more or less; give their prices with ``--dpu-price`` (repeatable):
``--dpu-price eu-west-1:STANDARD=0.48`` or, for the region the console reads, ``--dpu-price FLEX=0.29``.
A run in a region and class without a price shows its DPU-hours and no cost.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

STANDARD = "STANDARD"
FLEX = "FLEX"
DEFAULT_PRICES: Mapping[tuple[str, str], float] = {
    ("us-east-1", STANDARD): 0.44,
    ("us-east-1", FLEX): 0.29,
}
SOURCE = "https://aws.amazon.com/glue/pricing/"


class PriceError(ValueError):
    """A ``--dpu-price`` value that cannot be read."""


@dataclass(frozen=True)
class Prices:
    region: str
    table: Mapping[tuple[str, str], float] = field(default_factory=lambda: dict(DEFAULT_PRICES))

    def per_dpu_hour(self, execution_class: str | None) -> float | None:
        """USD per DPU-hour in this region for the class (a run without one ran STANDARD)."""
        return self.table.get((self.region, (execution_class or STANDARD).upper()))

    def cost(self, dpu_hours: float | None, execution_class: str | None) -> float | None:
        price = self.per_dpu_hour(execution_class)
        return None if price is None or dpu_hours is None else dpu_hours * price

    def describe(self) -> str:
        known = sorted((cls, price) for (region, cls), price in self.table.items() if region == self.region)
        if not known:
            return f"no DPU-hour price for {self.region}: set --dpu-price {self.region}:STANDARD=<USD>"
        return ", ".join(f"{cls} ${price:g}" for cls, price in known) + f" per DPU-hour in {self.region}"


def parse_prices(values: Iterable[str], region: str) -> Prices:
    """``[REGION:]CLASS=USD`` items over the defaults."""
    table = dict(DEFAULT_PRICES)
    for value in values:
        key, sep, amount = value.partition("=")
        where, colon, cls = key.rpartition(":")
        if not sep or not cls.strip():
            raise PriceError(
                f"--dpu-price {value!r}: expected [REGION:]CLASS=USD, such as eu-west-1:FLEX=0.29"
            )
        try:
            price = float(amount)
        except ValueError:
            raise PriceError(f"--dpu-price {value!r}: {amount!r} is not a number") from None
        if not math.isfinite(price) or price < 0:
            raise PriceError(f"--dpu-price {value!r}: the price must be 0 or more")
        table[((where.strip() if colon else region), cls.strip().upper())] = price
    return Prices(region, table)
