"""The open-file limit, raised at start-up so that connections, not a login default, set it.

Every connection, spooled body and log file is a descriptor. Distributions start services and
shells with a soft ``RLIMIT_NOFILE`` of 1024 (while the hard limit is often far higher), which
a worker reaches with a few hundred slow clients; the per-worker connection cap defaults to a
share of this limit. The parent raises the soft limit to the hard one before it starts any
worker, and the workers inherit it (across ``fork`` and ``exec``). Raising the hard limit
itself needs privileges: that is the service manager's job (systemd's ``LimitNOFILE=``).
"""

from __future__ import annotations

import logging
import resource
from typing import Final

__all__ = ("raise_open_file_limit",)

logger = logging.getLogger("django_bolt.server")

# The soft limit cannot be "unlimited" even where the hard one is (Linux caps it at
# fs.nr_open, macOS at OPEN_MAX): then aim for Linux's default nr_open.
_UNLIMITED_TARGET: Final = 1024 * 1024


def raise_open_file_limit() -> int:
    """Raise the soft ``RLIMIT_NOFILE`` to the hard limit; return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = _UNLIMITED_TARGET if hard == resource.RLIM_INFINITY else hard
    if soft == resource.RLIM_INFINITY or soft >= target:
        logger.debug("open-file limit is %d (already the hard limit)", soft)
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:
        logger.debug(
            "open-file limit stays at %d: it cannot be raised to %d (%s)", soft, target, exc
        )
        return soft
    logger.debug("open-file limit raised from %d to %d (the hard limit)", soft, target)
    return target
