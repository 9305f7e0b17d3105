"""runtime — the reactor–executor runtime corofy's state machines run on (SPEC §3)."""

from runtime.future import PENDING, Future, Ready

__all__ = ["PENDING", "Future", "Ready"]
