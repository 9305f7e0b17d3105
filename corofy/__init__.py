"""corofy — rewrite @coroutine functions with wait() into explicit state machines."""

__version__ = "0.1.0"
