"""How long the fuzz tests run: a fixed, derandomized few in the suite, many on demand.

``BOLT_FUZZ_EXAMPLES=N`` makes each fuzz test run N random examples (the socket test a tenth of
them, at least its suite count); ``BOLT_FUZZ_SEED=S`` repeats a run (a long run without it
picks a seed and prints it with any failure).
"""

from __future__ import annotations

import os
import random
from typing import TYPE_CHECKING, Final

from hypothesis import HealthCheck, seed, settings

from tests.fuzz.oracle import Violation

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.fuzz.oracle import Verdict

__all__ = ("LONG_EXAMPLES", "SEED", "check", "fuzz")

LONG_EXAMPLES: Final = int(os.environ.get("BOLT_FUZZ_EXAMPLES", "0") or 0)
SEED: Final = int(os.environ.get("BOLT_FUZZ_SEED") or random.SystemRandom().randrange(2**32))


def fuzz(
    examples: int, long_share: float = 1.0
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Hypothesis settings for a fuzz test: ``examples`` derandomized ones in the suite, or
    ``long_share`` of BOLT_FUZZ_EXAMPLES random ones from BOLT_FUZZ_SEED."""
    long_run = max(examples, int(LONG_EXAMPLES * long_share)) if LONG_EXAMPLES else 0
    chosen = settings(
        max_examples=long_run or examples,
        derandomize=not long_run,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,  # one driver or server serves every example
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )

    def decorate(test: Callable[..., None]) -> Callable[..., None]:
        test = chosen(test)
        return seed(SEED)(test) if long_run else test

    return decorate


def check(verdict: Verdict) -> None:
    """``verdict.check()``, with the seed that repeats a long run added to any violation."""
    try:
        verdict.check()
    except Violation as violation:
        if LONG_EXAMPLES:
            violation.args = (f"{violation.args[0]}\n(run seed: BOLT_FUZZ_SEED={SEED})",)
        raise
