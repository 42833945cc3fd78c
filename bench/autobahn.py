"""Run the Autobahn|Testsuite fuzzing client against our server's WebSocket echo route.

    python bench/autobahn.py [--cases 1.*,2.*,...] [--separately] [--timeout S]
                             [--wstest PATH] [--outdir DIR]
    python bench/autobahn.py --summarize DIR [DIR ...]

The suite (``autobahntestsuite``, Python 2.7: ``~/.pyenv/versions/2.7.18/bin/pip install
autobahntestsuite``) connects to an echo route served by our server (``serve`` below: one
uvloop event loop, the real ``HttpProtocol``, a ``BoltAPI`` with one ``@api.websocket`` route
that sends every message back, its message limit raised to 64 MiB for section 9's 16 MiB
messages), runs the cases, and writes its report. This script prints the count of each verdict
per section and exits non-zero when a case FAILED (or was UNIMPLEMENTED where it should not be).

``--separately`` runs each comma-separated pattern of ``--cases`` as a run of its own (its own
server, its own report under ``--outdir``, at most ``--timeout`` seconds), so that one slow
section neither hides the verdicts of the others nor runs past its budget unseen; the table
then sums the runs. ``--summarize`` prints the table of reports already written (each DIR holds
an ``index.json``, or sub-folders that do). The compression sections (12, 13: a thousand
messages per case, deflated by the Python 2.7 client) take most of the time, and as long
against the ``websockets`` package's own echo server: the client is the slow side.
docs/websockets.md quotes the summary.
"""

import argparse
import asyncio
import collections
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
WSTEST: Final = Path.home() / ".pyenv/versions/2.7.18/bin/wstest"
DEFAULT_CASES: Final = "1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.*,10.*,12.*,13.*"
_BY_SUBSECTION: Final = frozenset({"12", "13"})
# Verdicts that pass: RFC-conformant, or conformant in a way the suite only notes.
PASSING: Final = {"OK", "NON-STRICT", "INFORMATIONAL"}


def serve(port: int) -> None:
    """Serve the echo route on ``port`` until killed."""
    sys.path.insert(0, str(ROOT))
    import django
    from django.conf import settings

    settings.configure(DEBUG=False, ALLOWED_HOSTS=["*"], SECRET_KEY="autobahn")
    django.setup()
    from django_bolt import BoltAPI, WebSocket, WebSocketDisconnect
    from django_bolt.server.config import ServerConfig
    from django_bolt.server.loops import new_event_loop
    from django_bolt.server.protocol import HttpProtocol
    from django_bolt.server.state import ServerState

    api = BoltAPI(openapi_config=None)

    @api.websocket("/", max_message_size=64 * 1024 * 1024, allowed_origins=["*"])
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                message = await websocket.receive()
                if "text" in message:
                    await websocket.send_text(message["text"])
                else:
                    await websocket.send_bytes(message["bytes"])
        except WebSocketDisconnect:
            return

    async def main() -> None:
        await api.startup()
        config = ServerConfig(websocket_max_message_size=64 * 1024 * 1024, websocket_max_queue=64)
        state = ServerState(api, config)
        loop = asyncio.get_running_loop()
        await loop.create_server(lambda: HttpProtocol(state), "127.0.0.1", port)
        print("listening", flush=True)
        await asyncio.Event().wait()

    loop = new_event_loop()
    loop.run_until_complete(main())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def summarize(index: dict[str, Any]) -> tuple[dict[str, collections.Counter[str]], list[str]]:
    """Count the verdicts per section; list the cases that did not pass.

    Sections 12 and 13 (permessage-deflate) count per sub-section: each one is its own set of
    extension parameters or payloads.
    """
    sections: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    bad = []
    for results in index.values():
        for case, result in results.items():
            verdict = result["behavior"]
            close = result.get("behaviorClose", "OK")
            parts = case.split(".")
            section = ".".join(parts[:2]) if parts[0] in _BY_SUBSECTION else parts[0]
            sections[section][verdict] += 1
            if verdict not in PASSING or close not in PASSING:
                bad.append(f"{case}: {verdict} (close {close})")
    return sections, bad


def run_once(cases: str, wstest: Path, outdir: Path, timeout: float) -> float:
    """Run the fuzzing client on ``cases`` against a fresh echo server; return the seconds."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != b"listening":
            raise SystemExit("the echo server did not start")
        spec = {
            "outdir": str(outdir),
            "servers": [{"agent": "django-bolt-py", "url": f"ws://127.0.0.1:{port}/"}],
            "cases": cases.split(","),
            "exclude-cases": [],
            "exclude-agent-cases": {},
        }
        outdir.mkdir(parents=True, exist_ok=True)
        spec_path = outdir / "fuzzingclient.json"
        spec_path.write_text(json.dumps(spec))
        started = time.monotonic()
        subprocess.run(
            [str(wstest), "-m", "fuzzingclient", "-s", str(spec_path)],
            check=True,
            cwd=outdir,
            stdout=subprocess.DEVNULL,
            timeout=timeout,
        )
        return time.monotonic() - started
    finally:
        server.terminate()
        server.wait(10)


def _reports(dirs: list[Path]) -> list[Path]:
    found: list[Path] = []
    for folder in dirs:
        if (folder / "index.json").exists():
            found.append(folder / "index.json")
        else:
            found.extend(sorted(folder.glob("*/index.json")))
    return found


def report(dirs: list[Path]) -> int:
    """Print the verdicts per section of the reports under ``dirs``; 1 if a case did not pass."""
    index: dict[str, Any] = {}
    for path in _reports(dirs):
        for agent, results in json.loads(path.read_text()).items():
            index.setdefault(agent, {}).update(results)
    if not index:
        raise SystemExit("no report found")
    sections, bad = summarize(index)
    columns = ("OK", "NON-STRICT", "INFORMATIONAL", "FAILED", "UNIMPLEMENTED")
    print("| section | cases | " + " | ".join(columns) + " |")
    print("|---|---:|" + "---:|" * len(columns))
    for section in sorted(sections, key=lambda name: [int(part) for part in name.split(".")]):
        counts = sections[section]
        cells = " | ".join(str(counts.get(v, 0)) for v in columns)
        print(f"| {section} | {sum(counts.values())} | {cells} |")
    for line in bad:
        print("not passing:", line)
    return 1 if bad else 0


def run(cases: str, wstest: Path, outdir: Path, separately: bool, timeout: float) -> int:
    """Run the cases (each pattern on its own with ``separately``) and print the table."""
    groups = cases.split(",") if separately else [cases]
    for number, group in enumerate(groups, 1):
        folder = outdir / f"run{number:02d}" if separately else outdir
        try:
            elapsed = run_once(group, wstest, folder, timeout)
        except subprocess.TimeoutExpired:
            print(f"cases {group}: not finished within {timeout:.0f} s", flush=True)
            continue
        print(f"cases {group}: {elapsed:.0f} s", flush=True)
    return report([outdir])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cases", default=DEFAULT_CASES)
    parser.add_argument("--separately", action="store_true", help="one run per pattern")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per run")
    parser.add_argument("--wstest", type=Path, default=WSTEST)
    parser.add_argument("--outdir", type=Path, default=None)
    parser.add_argument("--summarize", type=Path, nargs="+", help="reports already written")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    if args.summarize:
        sys.exit(report(args.summarize))
    if not args.wstest.exists():
        raise SystemExit(f"{args.wstest} is missing: install autobahntestsuite (see --help)")
    outdir = args.outdir or Path(tempfile.mkdtemp(prefix="autobahn-"))
    outdir.mkdir(parents=True, exist_ok=True)
    sys.exit(run(args.cases, args.wstest, outdir.resolve(), args.separately, args.timeout))


if __name__ == "__main__":
    main()
