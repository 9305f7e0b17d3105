"""The mio-like layer: ``Poll``, ``Registry``, ``Interest``, ``Token``, ``Events`` (SPEC §3).

Users import it as ``runtime.reactor`` (SPEC §3), which re-exports every name here; this file
holds it, and runtime/reactor.py the Reactor that drives it. This layer speaks in
registrations and readiness, never in wakers or tasks. Like mio, it is one API over several
OS pollers:

- ``epoll`` (runtime._poll_epoll): epoll through the cffi extension, edge-triggered. The
  default wherever the extension was built (Linux with a C compiler at install time).
- ``selectors`` (runtime._poll_selectors): the standard library's selectors (kqueue, epoll,
  poll), with edges emulated by disarming a reported direction until ``Registry.rearm``.
  The default where the extension is missing, and on any OS.

``RUNTIME_POLLER=epoll|selectors`` picks one; ``POLLER`` names the one in use. Whichever it
is, a caller drains an fd after an event (until EAGAIN, or a short read or write) and then
calls ``Registry.rearm`` before waiting again: a no-op for epoll, needed for selectors
(``Poll.NEEDS_REARM`` says which).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Final

from runtime._readiness import READ_CLOSED, Event, Interest, Token

__all__ = ["POLLER", "READ_CLOSED", "Event", "Events", "Interest", "Poll", "Registry", "Token"]

_CHOICES = ("epoll", "selectors")


def _wanted() -> str:
    wanted = os.environ.get("RUNTIME_POLLER", "").strip().lower()
    if wanted and wanted not in _CHOICES:
        raise ImportError(
            f"RUNTIME_POLLER={wanted!r} is not a poller: use RUNTIME_POLLER=epoll or "
            "RUNTIME_POLLER=selectors (or leave it unset for the best one built)"
        )
    return wanted


if TYPE_CHECKING:
    from runtime._poll_epoll import Events, Poll, Registry
else:
    _want = _wanted()
    if _want == "selectors":
        from runtime._poll_selectors import NAME, Events, Poll, Registry
    else:
        try:
            from runtime._poll_epoll import NAME, Events, Poll, Registry
        except ImportError as exc:
            if _want == "epoll":
                raise ImportError(
                    "RUNTIME_POLLER=epoll, but the epoll extension (runtime._epoll) is not built "
                    "here: it needs Linux and a C compiler when corofy is installed "
                    "(`pip install --force-reinstall --no-binary corofy corofy`); unset "
                    "RUNTIME_POLLER to use the selectors poller"
                ) from exc
            from runtime._poll_selectors import NAME, Events, Poll, Registry

POLLER: Final[str] = "epoll" if TYPE_CHECKING else NAME
"""The poller in use: ``"epoll"`` or ``"selectors"``."""
