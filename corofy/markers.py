"""`from corofy.markers import coroutine, wait`: the markers under their module's other name.

The transform recognises this spelling as it does `from corofy import coroutine, wait`; the
markers and the build-free `@coroutine` are defined in ``corofy/decorator.py``.
"""

from corofy.decorator import coroutine, wait

__all__ = ["coroutine", "wait"]
