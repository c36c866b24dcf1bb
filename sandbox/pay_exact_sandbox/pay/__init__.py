"""The Pay. GMS v2 sandbox."""

from .app import PayConfig, create_pay_app
from .sandbox import PaySandbox, load_merchant
from .store import FixtureError, PayStore

__all__ = ["FixtureError", "PayConfig", "PaySandbox", "PayStore", "create_pay_app", "load_merchant"]
