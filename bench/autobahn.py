"""Run the Autobahn|Testsuite fuzzing client against our server's WebSocket echo route.

    python bench/autobahn.py [--cases 1.*,2.*,...] [--wstest PATH] [--outdir DIR]

The suite (``autobahntestsuite``, Python 2.7: ``~/.pyenv/versions/2.7.18/bin/pip install
autobahntestsuite``) connects to an echo route served by our server (``serve`` below: one
uvloop event loop, the real ``HttpProtocol``, a ``BoltAPI`` with one ``@api.websocket`` route
that sends every message back), runs the cases, and writes its report. This script prints the
count of each verdict per section and exits non-zero when a case FAILED (or was UNIMPLEMENTED
where it should not be). docs/websockets.md quotes the summary.
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
    """Count the verdicts per section; list the cases that did not pass."""
    sections: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    bad = []
    for results in index.values():
        for case, result in results.items():
            verdict = result["behavior"]
            close = result.get("behaviorClose", "OK")
            sections[case.split(".")[0]][verdict] += 1
            if verdict not in PASSING or close not in PASSING:
                bad.append(f"{case}: {verdict} (close {close})")
    return sections, bad


def run(cases: str, wstest: Path, outdir: Path) -> int:
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
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as spec_file:
            json.dump(spec, spec_file)
        started = time.monotonic()
        subprocess.run(
            [str(wstest), "-m", "fuzzingclient", "-s", spec_file.name],
            check=True,
            cwd=outdir,
            stdout=subprocess.DEVNULL,
        )
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(10)
    index = json.loads((outdir / "index.json").read_text())
    sections, bad = summarize(index)
    print(f"Autobahn|Testsuite fuzzingclient, cases {cases}, {elapsed:.0f} s")
    print("| section | " + " | ".join(sorted(PASSING | {"FAILED", "UNIMPLEMENTED"})) + " |")
    for section in sorted(sections, key=int):
        counts = sections[section]
        cells = " | ".join(
            str(counts.get(v, 0)) for v in sorted(PASSING | {"FAILED", "UNIMPLEMENTED"})
        )
        print(f"| {section} | {cells} |")
    for line in bad:
        print("not passing:", line)
    return 1 if bad else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cases", default=DEFAULT_CASES)
    parser.add_argument("--wstest", type=Path, default=WSTEST)
    parser.add_argument("--outdir", type=Path, default=None)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    outdir = args.outdir or Path(tempfile.mkdtemp(prefix="autobahn-"))
    outdir.mkdir(parents=True, exist_ok=True)
    sys.exit(run(args.cases, args.wstest, outdir.resolve()))


if __name__ == "__main__":
    main()
