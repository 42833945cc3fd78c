"""What a route's middleware declarations compile to: limits, CORS entries and the chain.

The entries come from the API, the routers around the route and the route's own decorators
(outermost first); ``@skip_middleware`` removes some. Built-in entries (``{"type": "cors"}``,
``{"type": "rate_limit"}``) are taken out here: they are not layers of the chain but steps that
``dispatch`` runs at fixed places (CORS around everything, address limits before auth).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from django_bolt.middleware.base import SKIP_ALL, is_skipped, route_middleware, route_skips
from django_bolt.middleware.rate_limit import RateLimitSpec

__all__ = ("BUILTIN_NAMES", "RoutePipeline", "route_pipeline")

# Names @skip_middleware accepts for the steps that are not chain layers.
BUILTIN_NAMES: Final = frozenset({"compression", "cors", "rate_limit"})


@dataclass(frozen=True, slots=True)
class RoutePipeline:
    """One route's middleware, sorted by kind, skips applied."""

    chain: tuple[Any, ...]
    rate_limits: tuple[RateLimitSpec, ...]
    cors: tuple[dict[str, Any], ...]
    skipped: frozenset[Any]

    def skips(self, builtin: str) -> bool:
        """Whether ``@skip_middleware`` named this built-in step (or ``"*"``, which reaches
        every step and middleware of ours but no Django middleware)."""
        return SKIP_ALL in self.skipped or builtin in self.skipped


def route_pipeline(outer: tuple[Any, ...], handler: object) -> RoutePipeline:
    """Sort ``outer`` (API and routers) and ``handler``'s own entries; called at compile()."""
    skipped = route_skips(handler)
    chain: list[Any] = []
    limits: list[RateLimitSpec] = []
    cors: list[dict[str, Any]] = []
    for entry in (*outer, *route_middleware(handler)):
        if is_skipped(entry, skipped):
            continue
        narrow = getattr(entry, "skipping", None)
        if narrow is not None and skipped:
            # A Django middleware stack: "CsrfViewMiddleware" leaves out that class alone.
            entry = narrow(skipped)
            if entry is None:
                continue
        if isinstance(entry, dict):
            if entry["type"] == "rate_limit":
                limits.append(RateLimitSpec.from_entry(entry))
            else:
                cors.append(entry)
        else:
            chain.append(entry)
    return RoutePipeline(tuple(chain), tuple(limits), tuple(cors), skipped)
