"""Deterministic merchant generator shared by the Pay. and Exact sandboxes."""

from .build import generate
from .model import Customer, Merchant, Order
from .params import (
    PLATFORMS,
    FeeSettings,
    GeneratorParams,
    MethodFee,
    RevenueGroup,
)

__all__ = [
    "PLATFORMS",
    "Customer",
    "FeeSettings",
    "GeneratorParams",
    "Merchant",
    "MethodFee",
    "Order",
    "RevenueGroup",
    "generate",
]
