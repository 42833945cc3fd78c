"""nginx in front of runbolt, configured with the deployment guide's server block, word for word.

Each test runs its own nginx (Debian ``nginx-light``, installed by ``dev.py test``) as a
non-daemon child with its own prefix and config in a temporary directory, listening on a free
loopback port. Only ``listen`` and the upstream port differ from the guide.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import ssl
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import find_program
from tests.integration.conftest import free_port

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

pytestmark = pytest.mark.integration

SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "000_18fbebdde3631585.txt"

# The guide's reverse-proxy block, verbatim but for the two ports and an optional TLS listener.
SEED_UPSTREAM = """upstream django_bolt {
    server 127.0.0.1:8000;
}"""
SEED_LOCATION = """    location / {
        proxy_pass http://django_bolt;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
    }"""
# The production variant: reuse upstream connections instead of one per request.
KEEPALIVE_UPSTREAM = """upstream django_bolt {
    server 127.0.0.1:8000;
    keepalive 8;
}"""
KEEPALIVE_LOCATION = SEED_LOCATION.replace(
    "        proxy_set_header Host $host;\n",
    '        proxy_http_version 1.1;\n        proxy_set_header Connection "";\n'
    "        proxy_set_header Host $host;\n",
)


def render_conf(
    prefix: Path,
    upstream_port: int,
    listen_port: int,
    *,
    keepalive: bool = False,
    tls: tuple[Path, Path] | None = None,
) -> str:
    upstream = (KEEPALIVE_UPSTREAM if keepalive else SEED_UPSTREAM).replace(
        "127.0.0.1:8000", f"127.0.0.1:{upstream_port}"
    )
    location = KEEPALIVE_LOCATION if keepalive else SEED_LOCATION
    listen = f"listen 127.0.0.1:{listen_port}"
    if tls is not None:
        listen += f" ssl;\n    ssl_certificate {tls[0]};\n    ssl_certificate_key {tls[1]}"
    site = f"""{upstream}

server {{
    {listen};
    server_name api.example.com;

{location}
}}"""
    return http_conf(prefix, site)


def http_conf(prefix: Path, site: str) -> str:
    """A whole nginx.conf for a non-daemon nginx in ``prefix``, serving ``site`` (http blocks)."""
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # Running as root, nginx would drop its workers to "nobody", who cannot enter pytest's
    # private temp directory; keep them as the current user instead.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    return f"""{user}daemon off;
worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} info;
events {{ worker_connections 256; }}
http {{
    access_log {prefix / "access.log"};
{temp}

{site}
}}
"""


class Nginx:
    def __init__(self, binary: str, prefix: Path, conf: Path, port: int) -> None:
        self.binary = binary
        self.prefix = prefix
        self.conf = conf
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def test_config(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.binary, "-t", "-p", str(self.prefix), "-c", str(self.conf)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "-p", str(self.prefix), "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(
                    f"nginx exited: {self.proc.stderr.read().decode() if self.proc.stderr else ''}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 1),
            ):
                return
            time.sleep(0.05)
        pytest.fail("nginx did not listen within 15 s")

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, 15)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


@pytest.fixture
def nginx_factory(tmp_path: Path) -> Iterator[Callable[..., Nginx]]:
    binary = find_program("nginx", "dev.py test installs Debian's nginx-light")
    started: list[Nginx] = []

    def make(upstream_port: int, **options: object) -> Nginx:
        prefix = tmp_path / f"nginx{len(started)}"
        prefix.mkdir()
        port = free_port()
        conf = prefix / "nginx.conf"
        conf.write_text(render_conf(prefix, upstream_port, port, **options))  # type: ignore[arg-type]
        server = Nginx(binary, prefix, conf, port)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    openssl = find_program("openssl", "dev.py test installs Debian's openssl")
    cert, key = directory / "cert.pem", directory / "key.pem"
    argv = [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    argv += ["-subj", "/CN=api.example.com", "-keyout", str(key), "-out", str(cert)]
    subprocess.run(
        argv,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def get_from(
    source_ip: str,
    port: int,
    path: str,
    *,
    tls: bool = False,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    """GET through nginx from ``source_ip`` (any 127/8 address is ours on Linux loopback)."""
    conn: http.client.HTTPConnection
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(
            "127.0.0.1", port, timeout=10, source_address=(source_ip, 0), context=context
        )
    else:
        conn = http.client.HTTPConnection(
            "127.0.0.1", port, timeout=10, source_address=(source_ip, 0)
        )
    try:
        conn.request("GET", path, headers={"Host": "api.example.com", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def established_to(port: int) -> list[str]:
    """Local ends (``addr:port``) of the established TCP connections whose peer port is ``port``."""
    out = subprocess.run(
        ["ss", "-tnH", "state", "established", f"( dport = :{port} )"],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout
    return sorted(line.split()[-2] for line in out.splitlines() if line.strip())


def test_seed_block_is_quoted_verbatim() -> None:
    if not SEED.exists():
        pytest.skip(f"the deployment guide is not beside the checkout ({SEED})")
    text = SEED.read_text()
    assert SEED_UPSTREAM in text
    assert SEED_LOCATION in text


def test_nginx_t_accepts_the_guide_config(nginx_factory: Callable[..., Nginx]) -> None:
    for keepalive in (False, True):
        result = nginx_factory(free_port(), keepalive=keepalive).test_config()
        assert result.returncode == 0, result.stderr
        assert "syntax is ok" in result.stderr
        assert "test is successful" in result.stderr


def test_app_sees_real_client_ip_through_nginx(run_bolt, nginx_factory) -> None:
    bolt = run_bolt("--no-access-log")
    nginx = nginx_factory(bolt.port)
    nginx.start()
    status, body = get_from("127.0.0.2", nginx.port, "/client")
    assert status == 200, body
    seen = json_object(body)
    # The TCP peer of runbolt is nginx (127.0.0.1, trusted by default); the app gets the client.
    assert seen["host"] == "127.0.0.2"
    assert seen["scheme"] == "http"
    # A client cannot choose its address by sending its own X-Forwarded-For: nginx appends the
    # real one and runbolt takes the right-most untrusted entry.
    status, body = get_from(
        "127.0.0.3", nginx.port, "/client", headers={"X-Forwarded-For": "203.0.113.9"}
    )
    assert status == 200
    assert json_object(body)["host"] == "127.0.0.3"


def test_app_sees_https_scheme_through_nginx(run_bolt, nginx_factory, tmp_path: Path) -> None:
    bolt = run_bolt("--no-access-log")
    nginx = nginx_factory(bolt.port, tls=self_signed_cert(tmp_path))
    nginx.start()
    status, body = get_from("127.0.0.4", nginx.port, "/client", tls=True)
    assert status == 200, body
    seen = json_object(body)
    assert (seen["host"], seen["scheme"]) == ("127.0.0.4", "https")


def test_upstream_keepalive_reuses_one_connection(run_bolt, nginx_factory) -> None:
    bolt = run_bolt("--no-access-log")
    nginx = nginx_factory(bolt.port, keepalive=True)
    nginx.start()
    seen_local_ends: set[str] = set()
    for _ in range(10):
        status, _body = get_from("127.0.0.1", nginx.port, "/hello")
        assert status == 200
        seen_local_ends.update(established_to(bolt.port))
    # Ten requests, each on a new client connection to nginx, all went over one upstream socket.
    assert len(seen_local_ends) == 1, seen_local_ends
    assert established_to(bolt.port) == sorted(seen_local_ends)


def test_guide_config_without_keepalive_opens_a_connection_per_request(
    run_bolt, nginx_factory
) -> None:
    # The contrast that makes the keep-alive test meaningful: the guide's block as written
    # speaks HTTP/1.0 upstream, and runbolt closes each of those connections after its response.
    bolt = run_bolt("--no-access-log")
    nginx = nginx_factory(bolt.port)
    nginx.start()
    for _ in range(3):
        status, _body = get_from("127.0.0.1", nginx.port, "/hello")
        assert status == 200
    deadline = time.monotonic() + 5
    while established_to(bolt.port) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert established_to(bolt.port) == []


def json_object(body: bytes) -> dict[str, object]:
    data = json.loads(body)
    assert isinstance(data, dict)
    return data
