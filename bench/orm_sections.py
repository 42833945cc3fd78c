"""Instructions per call of the pieces of an ORM request, counted in one process by callgrind.

What the ORM endpoints of bench/app spend beyond the server: the handler's own work (Django's
query, its model instances, the dicts), the JSON encoding, and the thread hops (ours, and
asgiref's ``sync_to_async``, which Django's async ORM API goes through). Run it in bench/ after
bench/run.py has made the venv and the catalogues (the PostgreSQL one is made when a -pg
endpoint is measured)::

    BENCH_DB_READONLY=1 BENCH_PG_DB=bolt_bench valgrind --tool=callgrind \\
        --callgrind-out-file=/tmp/sections/cg.%p bench/.venv-ours/bin/python \\
        bench/orm_sections.py /tmp/sections 400

Each section runs ``N`` calls between a ``callgrind_control -z`` and a dump of this process; the
figure is the dump's total divided by ``N``.
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH / "app"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchproject.settings")
os.environ.setdefault("BENCH_DB", str(BENCH / ".work" / "bench.sqlite3"))

import django  # noqa: E402

django.setup()

import msgspec  # noqa: E402
import uvloop  # noqa: E402
from asgiref.sync import SyncToAsync, sync_to_async  # noqa: E402
from benchproject.api import orm_pg_sync_plain, orm_sync_plain  # noqa: E402

from django_bolt._django.db import ThreadSensitiveExecutor, run_pooled  # noqa: E402
from django_bolt.concurrency import run_in_pool, wrap_pool_calls  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable

_TOTALS = re.compile(r"^(?:summary|totals):\s*(\d+)", re.MULTILINE)


class Counter:
    """Zeroes and dumps this process's callgrind counters."""

    def __init__(self, out_dir: str) -> None:
        self.out_dir = out_dir
        self.pid = str(os.getpid())
        self.seen: set[str] = set()

    def _control(self, option: str) -> None:
        subprocess.run(["callgrind_control", option, self.pid], check=False, capture_output=True)

    def section(self, name: str, run: Callable[[int], Any], n: int) -> None:
        run(max(n // 10, 20))  # warm-up
        self._control("-z")
        run(n)
        self._control("-d")
        total = 0
        for path in sorted(glob.glob(f"{self.out_dir}/cg.{self.pid}*")):
            if path in self.seen:
                continue
            self.seen.add(path)
            found = _TOTALS.search(Path(path).read_text(errors="replace"))
            if found is not None:
                total += int(found.group(1))
        print(f"{name:46s} {total / n:12,.0f} per call", flush=True)


def on_a_thread(fn: Callable[[], Any]) -> Callable[[int], None]:
    """``n`` calls of ``fn`` on a thread without an event loop (where Django allows the ORM)."""

    def run(n: int) -> None:
        thread = threading.Thread(target=lambda: [fn() for _ in range(n)])
        thread.start()
        thread.join()

    return run


def awaited(make: Callable[[], Any]) -> Callable[[int], None]:
    """``n`` awaits of ``make()`` on a uvloop loop, one at a time."""

    def run(n: int) -> None:
        async def main() -> None:
            for _ in range(n):
                await make()

        uvloop.run(main())

    return run


def _nothing() -> int:
    return 1


def main(out_dir: str, n: int) -> None:
    counter = Counter(out_dir)
    counter.section("handler body, SQLite (10 rows, dicts)", on_a_thread(orm_sync_plain), n)
    counter.section("handler body, PostgreSQL", on_a_thread(orm_pg_sync_plain), n)
    rows: list[Any] = []
    on_a_thread(lambda: rows.append(orm_sync_plain()))(1)
    encode = msgspec.json.Encoder().encode
    counter.section(
        "msgspec encode of the 10 rows", lambda k: [encode(rows[0]) for _ in range(k)], n
    )
    counter.section(
        "sync_to_async hop, asgiref's executor", awaited(lambda: sync_to_async(_nothing)()), n
    )
    wrap_pool_calls(run_pooled)
    original = SyncToAsync.single_thread_executor
    SyncToAsync.single_thread_executor = ThreadSensitiveExecutor()  # type: ignore[assignment]
    try:
        counter.section(
            "sync_to_async hop, the ORM pool's executor",
            awaited(lambda: sync_to_async(_nothing)()),
            n,
        )
    finally:
        SyncToAsync.single_thread_executor = original
    counter.section(
        "run_in_pool hop (our pool, no asgiref)", awaited(lambda: run_in_pool(_nothing, {})), n
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
