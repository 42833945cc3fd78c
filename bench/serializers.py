#!/usr/bin/env python3
"""Serializer throughput, ours against Django-Bolt 0.13, counted in instructions.

Two cases, the same code on both (only ``django_bolt.serializers``' public names):

* ``dump-1000``: 1,000 model rows (a book with its author loaded, as ``select_related`` leaves
  it) through a ``Serializer`` with one computed field and one nested serializer:
  ``from_models``, ``dump_many`` and the JSON encoding a response does.
* ``validate-1000``: a JSON array of 1,000 objects parsed into ``list[Serializer]`` with two
  field validators (what a request body of that type costs), and the same 1,000 objects
  through ``model_validate``.

The models are built in memory (no database: the cases measure the serializer, not a query).
Without options it prints CPU seconds per operation (best of several, indicative only). With
``--callgrind`` it runs each case under valgrind's callgrind in a fresh process per server,
zeroes the counters after a warm-up, and reports instructions per operation, which do not
swing with the machine's load:

    python3 bench/serializers.py --callgrind \\
        --ours bench/.venv-ours/bin/python --theirs bench/.venv-theirs/bin/python

``--ours`` runs with this tree first on ``sys.path``; ``--theirs`` with the venv's own
``django_bolt`` (Django-Bolt 0.13).
"""

# No ``from __future__ import annotations``: the cases' classes are defined inside _setup()
# (after Django is configured) and msgspec must see their annotations as objects.
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
ROWS: Final = 1000
CASES: Final = ("dump-1000", "validate-1000", "model-validate-1000")
_TOTALS: Final = re.compile(r"^(?:summary|totals):\s*(\d+)", re.MULTILINE)


_CONTEXT: dict[str, Any] = {}


def _setup() -> dict[str, Any]:
    """Django configured in memory, the models and serializers of the cases, their inputs."""
    if not _CONTEXT:
        _CONTEXT.update(_build())
    return _CONTEXT


def _build() -> dict[str, Any]:
    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=[],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        USE_TZ=True,
    )
    django.setup()
    import msgspec
    from django.db import models

    from django_bolt.serializers import Serializer, computed_field, field_validator

    class Author(models.Model):
        name = models.CharField(max_length=100)
        email = models.CharField(max_length=200)

        class Meta:
            app_label = "bench_serializers"

    class Book(models.Model):
        title = models.CharField(max_length=200)
        pages = models.IntegerField()
        author = models.ForeignKey(Author, on_delete=models.CASCADE)

        class Meta:
            app_label = "bench_serializers"

    class AuthorOut(Serializer):
        id: int
        name: str
        email: str

    class BookOut(Serializer):
        id: int
        title: str
        pages: int
        author: AuthorOut

        @computed_field
        def label(self) -> str:
            return f"{self.title} ({self.pages} pages)"

    class BookIn(Serializer):
        title: str
        pages: int
        email: str

        @field_validator("title")
        def strip_title(cls, value: str) -> str:
            return value.strip()

        @field_validator("email")
        def check_email(cls, value: str) -> str:
            if "@" not in value:
                raise ValueError("Invalid email")
            return value.lower()

    authors = [Author(id=i, name=f"Author {i}", email=f"a{i}@example.com") for i in range(10)]
    books = [
        Book(id=i, title=f"Book {i}", pages=100 + i, author=authors[i % 10]) for i in range(ROWS)
    ]
    incoming = [
        {"title": f"  Book {i} ", "pages": i, "email": f"Reader{i}@Example.com"}
        for i in range(ROWS)
    ]
    return {
        "msgspec": msgspec,
        "BookOut": BookOut,
        "BookIn": BookIn,
        "books": books,
        "incoming": incoming,
        "payload": msgspec.json.encode(incoming),
    }


def _operation(case: str, ctx: dict[str, Any]) -> Any:
    msgspec = ctx["msgspec"]
    if case == "dump-1000":
        book_out, books = ctx["BookOut"], ctx["books"]

        def dump() -> bytes:
            data = book_out.dump_many(book_out.from_models(books))
            return msgspec.json.encode(data)  # type: ignore[no-any-return]

        return dump
    if case == "validate-1000":
        book_in = ctx["BookIn"]
        decoder = msgspec.json.Decoder(list[book_in])
        payload = ctx["payload"]
        return lambda: decoder.decode(payload)
    book_in, incoming = ctx["BookIn"], ctx["incoming"]
    return lambda: [book_in.model_validate(item) for item in incoming]


def _check(case: str, result: Any) -> None:
    """Both implementations must give the same answer before their costs are compared."""
    import msgspec

    if case == "dump-1000":
        first = msgspec.json.decode(result)[7]
        assert first == {
            "id": 7,
            "title": "Book 7",
            "pages": 107,
            "author": {"id": 7, "name": "Author 7", "email": "a7@example.com"},
            "label": "Book 7 (107 pages)",
        }, first
    else:
        assert len(result) == ROWS
        assert (result[3].title, result[3].email) == ("Book 3", "reader3@example.com")


def run_case(case: str, iterations: int, callgrind: bool) -> None:
    """Run one case in this process; under callgrind, count only the measured iterations."""
    ctx = _setup()
    operation = _operation(case, ctx)
    _check(case, operation())
    for _ in range(3):
        operation()
    if callgrind:
        subprocess.run(
            ["callgrind_control", "-z", str(os.getpid())], check=True, capture_output=True
        )
        for _ in range(iterations):
            operation()
        subprocess.run(
            ["callgrind_control", "-d", str(os.getpid())], check=True, capture_output=True
        )
        return
    best = float("inf")
    for _ in range(7):
        start = time.process_time()
        for _ in range(iterations):
            operation()
        best = min(best, (time.process_time() - start) / iterations)
    print(f"{case}: {best * 1e3:.2f} ms CPU per operation")


def _counted(python: str, case: str, iterations: int, tree: str) -> float:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    env.pop("PYTHONPATH", None)
    if tree:
        env["PYTHONPATH"] = tree
    with tempfile.TemporaryDirectory(prefix="bolt-ser-cg-") as tmp:
        out = Path(tmp) / "cg.%p"
        argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", python]
        argv += [__file__, "--case", case, "--iterations", str(iterations), "--under-callgrind"]
        subprocess.run(argv, check=True, env=env, capture_output=True, cwd=tmp)
        dumps = sorted(Path(tmp).glob("cg.*.1"))
        if not dumps:
            raise SystemExit(f"no callgrind dump for {case} with {python}")
        found = _TOTALS.search(dumps[-1].read_text(errors="replace"))
        if found is None:
            raise SystemExit(f"no total in {dumps[-1]}")
        return int(found.group(1)) / iterations


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=CASES)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--callgrind", action="store_true")
    parser.add_argument("--under-callgrind", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ours", default=sys.executable, help="Python of our venv")
    parser.add_argument("--theirs", default="", help="Python of Django-Bolt 0.13's venv")
    args = parser.parse_args(argv)
    if args.under_callgrind or (args.case and not args.callgrind):
        run_case(args.case, args.iterations, args.under_callgrind)
        return 0
    cases = [args.case] if args.case else list(CASES)
    if not args.callgrind:
        for case in cases:
            run_case(case, args.iterations, False)
        return 0
    servers = [("ours", args.ours, str(ROOT))]
    if args.theirs:
        servers.append(("theirs", args.theirs, ""))
    print("| case | " + " | ".join(name for name, _, _ in servers) + " | ratio |")
    print("|---|" + "---|" * (len(servers) + 1))
    for case in cases:
        counts = [_counted(python, case, args.iterations, tree) for _, python, tree in servers]
        ratio = f"{counts[1] / counts[0]:.2f}x" if len(counts) == 2 else ""
        print(f"| {case} | " + " | ".join(f"{c:,.0f}" for c in counts) + f" | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
