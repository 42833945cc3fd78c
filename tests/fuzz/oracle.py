"""What a strict HTTP/1.1 implementation (h11) makes of the bytes, and the invariants an answer
must keep given that.

``frame_requests`` runs the client's bytes through h11 as a server that answers every request
(and declines every Upgrade and CONNECT), so it sees every message a strict framer sees in the
same bytes. ``parse_responses`` reads what our server wrote with h11 as the client. ``Verdict``
puts the two side by side; each invariant is one method that raises :class:`Violation`, from its
own line, so hypothesis tells the failures apart and shrinks each to its own minimal input.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Final, Literal

import h11

from tests.fuzz.app import body_digest, field_names

__all__ = (
    "Answer",
    "Framed",
    "Framing",
    "Verdict",
    "Violation",
    "frame_requests",
    "parse_responses",
)

# h11 as a framer, not as a limit: our own limits (64 KiB of headers, 10 MiB of body) decide.
_H11_MAX_EVENT: Final = 4 * 1024 * 1024
# Server errors a client may legitimately get: nothing else in 5xx is allowed.
ALLOWED_5XX: Final = frozenset({501, 505})

End = Literal["clean", "partial", "error", "closed"]


class Violation(AssertionError):
    """An invariant the server's answer broke (``invariant`` names its check)."""

    def __init__(self, invariant: str, message: str) -> None:
        super().__init__(message)
        self.invariant = invariant


@dataclass(frozen=True, slots=True)
class Framed:
    """One complete request as h11 framed it."""

    method: bytes
    target: bytes
    http_version: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


@dataclass(slots=True)
class Framing:
    """Every complete request h11 found, and how the bytes ended.

    ``end`` is ``clean`` (on a message boundary), ``partial`` (inside a message),
    ``error`` (h11 refused a message; ``error`` says why) or ``closed`` (a message ended the
    connection, so what follows it must not be read).
    """

    requests: list[Framed] = field(default_factory=list)
    end: End = "clean"
    error: str = ""


def _answer(conn: h11.Connection, request: h11.Request) -> None:
    """Answer like a server that offers no protocol switch: a 400 declines Upgrade and CONNECT."""
    del request
    conn.send(h11.Response(status_code=400, headers=[("content-length", "0")]))
    conn.send(h11.EndOfMessage())


def _keeps_http10_alive(request: h11.Request) -> bool:
    """An HTTP/1.0 request asking for keep-alive, which h11 does not implement (it closes)."""
    if request.http_version != b"1.0":
        return False
    tokens = b",".join(v for n, v in request.headers if n == b"connection").lower().split(b",")
    return b"keep-alive" in (t.strip() for t in tokens)


def frame_requests(data: bytes) -> Framing:
    """The requests a strict server frames in ``data`` (the client has not closed)."""
    framing = Framing()
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=_H11_MAX_EVENT)
    if data:  # (h11 reads an empty receive_data() as the end of the stream)
        conn.receive_data(data)
    request: h11.Request | None = None
    body = bytearray()
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as exc:
            framing.end, framing.error = "error", str(exc)
            return framing
        if event is h11.NEED_DATA:
            pending = request is not None or bool(conn.trailing_data[0])
            framing.end = "partial" if pending else "clean"
            return framing
        if isinstance(event, h11.Request):
            request, body = event, bytearray()
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage) and request is not None:
            framing.requests.append(
                Framed(
                    request.method,
                    request.target,
                    request.http_version,
                    tuple(request.headers.raw_items()),
                    bytes(body),
                )
            )
            _answer(conn, request)
            if conn.our_state is h11.MUST_CLOSE:
                rest = conn.trailing_data[0]
                if not _keeps_http10_alive(request):
                    framing.end = "closed"
                    return framing
                # Our server keeps HTTP/1.0 keep-alive connections open (RFC 9112 appendix
                # C.2.2); a fresh h11 connection reads on where the first one stopped.
                conn = h11.Connection(h11.SERVER, max_incomplete_event_size=_H11_MAX_EVENT)
                if rest:  # (h11 reads an empty receive_data() as the end of the stream)
                    conn.receive_data(rest)
            else:
                conn.start_next_cycle()
            request = None
        else:  # pragma: no cover - every request is answered above, so h11 never pauses
            framing.end, framing.error = "error", f"h11 stopped at {event!r}"
            return framing


@dataclass(frozen=True, slots=True)
class Answer:
    """One final response as h11 read it (interim 1xx responses are counted, not kept)."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    @property
    def closes(self) -> bool:
        return any(n == b"connection" and b"close" in v.lower() for n, v in self.headers)

    def echo(self) -> dict[str, str] | None:
        """What /echo reported, when this is its answer."""
        if self.status != 200 or not self.body.startswith(b'{"method":'):
            return None
        try:
            seen = json.loads(self.body)
        except ValueError:
            return None
        keys = {"method", "target", "body", "fields"}
        return seen if isinstance(seen, dict) and set(seen) == keys else None


@dataclass(slots=True)
class Responses:
    answers: list[Answer] = field(default_factory=list)
    interim: int = 0
    error: str = ""


def parse_responses(output: bytes, methods: list[bytes], closed: bool) -> Responses:
    """Read ``output`` as the responses to requests with ``methods`` (GET where unknown).

    Only HEAD changes how a response is framed, so every other method is asked as GET.

    One disagreement is allowed, and only for the answer that ends the connection with a
    refusal (4xx/5xx): whether the refused request counts as a HEAD. h11 and the server
    judge malformed bytes differently (h11 frames ``HEAD host:80`` and refuses a HEAD without
    Host; the server does the reverse), and after a refusal that closes nothing follows, so
    a body sent or left out cannot be read as the start of another response.
    """
    parsed = _parse_responses(output, methods, closed)
    if not parsed.error:
        return parsed
    # The answer in question: the last one read (bytes followed it) or the next (it broke).
    for index in (len(parsed.answers) - 1, len(parsed.answers)):
        if index < 0:
            continue
        flipped = [*methods, *[b"GET"] * (index + 1 - len(methods))]
        flipped[index] = b"GET" if flipped[index] == b"HEAD" else b"HEAD"
        again = _parse_responses(output, flipped, closed)
        if (
            not again.error
            and len(again.answers) == index + 1
            and again.answers[index].status >= 400
            and again.answers[index].closes
        ):
            return again
    return parsed


def _parse_responses(output: bytes, methods: list[bytes], closed: bool) -> Responses:
    parsed = Responses()
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=_H11_MAX_EVENT)
    _ask(conn, methods, 0)
    if output:  # (h11 reads an empty receive_data() as the end of the stream)
        conn.receive_data(output)
    if closed:
        conn.receive_data(b"")
    status, headers, body = 0, (), bytearray()
    ended = False  # an answer ended the connection: nothing may follow it
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as exc:
            done = len(parsed.answers)
            if ended:
                asked = "HEAD" if done <= len(methods) and methods[done - 1] == b"HEAD" else "GET"
                parsed.error = (
                    f"bytes follow answer {done} (to a {asked}), which ended the connection:"
                    f" {conn.trailing_data[0][:80]!r}"
                )
            else:
                parsed.error = f"response {done + 1} is malformed: {exc}"
            return parsed
        if event is h11.NEED_DATA:
            if status or conn.trailing_data[0]:
                parsed.error = f"response {len(parsed.answers) + 1} is cut short"
            return parsed
        if event is h11.PAUSED or isinstance(event, h11.ConnectionClosed):
            if conn.trailing_data[0]:
                parsed.error = (
                    f"{len(conn.trailing_data[0])} bytes after a response that ended the"
                    f" connection: {conn.trailing_data[0][:80]!r}"
                )
            return parsed
        if isinstance(event, h11.InformationalResponse):
            parsed.interim += 1
        elif isinstance(event, h11.Response):
            status, headers, body = event.status_code, tuple(event.headers.raw_items()), bytearray()
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            parsed.answers.append(Answer(status, headers, bytes(body)))
            status = 0
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                ended = True
                continue  # the next event says whether bytes follow (they must not)
            conn.start_next_cycle()
            _ask(conn, methods, len(parsed.answers))


def _ask(conn: h11.Connection, methods: list[bytes], index: int) -> None:
    method = b"HEAD" if index < len(methods) and methods[index] == b"HEAD" else b"GET"
    conn.send(h11.Request(method=method, target="/", headers=[("host", "fuzz")]))
    conn.send(h11.EndOfMessage())


@dataclass(slots=True)
class Verdict:
    """The client's bytes, the server's answer, and the invariants that relate them."""

    sent: bytes
    output: bytes
    closed: bool
    writes_after_close: bytes = b""
    error_logs: list[str] = field(default_factory=list)
    pending_tasks: int = 0
    # The body of the answer to the request ``sent`` ends with, when that is a probe every
    # connection still open must answer (tests/fuzz/strategies.py's PROBE).
    probe_body: bytes | None = None
    # How the bytes reached the server ("whole", "bytewise", "split", "socket"), for the report.
    feeding: str = ""
    framing: Framing = field(init=False)
    responses: Responses = field(init=False)

    def __post_init__(self) -> None:
        self.framing = frame_requests(self.sent)
        methods = [r.method for r in self.framing.requests]
        self.responses = parse_responses(self.output, methods, self.closed)

    def check(self) -> None:
        """Raise :class:`Violation` for the first invariant broken (each from its own line)."""
        self.check_well_formed()
        self.check_statuses()
        self.check_no_error_logged()
        self.check_no_extra_answer()
        self.check_requests_reach_their_handler()
        self.check_nothing_left_hanging()
        self.check_keeps_serving()

    def describe(self) -> str:
        framing, responses = self.framing, self.responses
        lines = [
            f"sent ({len(self.sent)} bytes, {self.feeding or 'whole'}): {self.sent[:600]!r}",
            f"h11 frames {len(framing.requests)} request(s), then {framing.end}"
            + (f" ({framing.error})" if framing.error else ""),
            f"server answered {[a.status for a in responses.answers]}"
            f" (+{responses.interim} interim), connection {'closed' if self.closed else 'open'}",
            f"output: {self.output[:600]!r}",
        ]
        return "\n".join(lines)

    def _fail(self, invariant: str, what: str) -> Violation:
        return Violation(invariant, f"{invariant}: {what}\n{self.describe()}")

    # --- the invariants ------------------------------------------------------------------------

    def check_well_formed(self) -> None:
        """Every byte written is part of a well-formed HTTP/1.1 response; none after close."""
        if self.responses.error:
            raise self._fail("check_well_formed", f"malformed output: {self.responses.error}")
        if self.writes_after_close:
            raise self._fail(
                "check_well_formed", f"written after close: {self.writes_after_close[:200]!r}"
            )

    def check_statuses(self) -> None:
        """No 5xx but 501 and 505: every input is the client's mistake or a fine request."""
        bad = [a for a in self.responses.answers if a.status >= 500 and a.status not in ALLOWED_5XX]
        if bad:
            raise self._fail("check_statuses", f"answered {bad[0].status}: {bad[0].body[:300]!r}")

    def check_no_error_logged(self) -> None:
        if self.error_logs:
            raise self._fail(
                "check_no_error_logged", "logged at ERROR:\n" + "\n".join(self.error_logs)[:3000]
            )

    def check_no_extra_answer(self) -> None:
        """The smuggling invariant: never more answers than requests a strict framer sees.

        Beyond the requests h11 framed, the server may send one answer for the bytes h11 could
        not frame (a refusal: 4xx or 501/505, after which the connection closes), no more.
        """
        answers, framed = self.responses.answers, self.framing.requests
        extra = answers[len(framed) :]
        if not extra:
            return
        first = extra[0]
        refusal = first.status >= 400 and first.closes and len(extra) == 1
        if self.framing.end in ("partial", "error") and refusal:
            return
        raise self._fail(
            "check_no_extra_answer",
            f"{len(answers)} answers to {len(framed)} request(s) framed by h11: answer"
            f" {len(framed) + 1} ({first.status}) has no request of its own",
        )

    def check_requests_reach_their_handler(self) -> None:
        """Each request /echo answered is the one h11 framed at that place: same method, same
        body, and no header field that was not in its head (a trailer, say)."""
        for index, (answer, framed) in enumerate(
            zip(self.responses.answers, self.framing.requests, strict=False)
        ):
            seen = answer.echo()
            if seen is None:
                continue
            expected = {"method": framed.method.decode("latin-1"), "body": body_digest(framed.body)}
            got = {"method": seen["method"], "body": seen["body"]}
            if got != expected:
                raise self._fail(
                    "check_requests_reach_their_handler",
                    f"answer {index + 1}: the handler saw {got}, h11 framed {expected}",
                )
            head = set(field_names(framed.headers).split(","))
            foreign = set(filter(None, seen["fields"].split(","))) - head
            if foreign:
                raise self._fail(
                    "check_requests_reach_their_handler",
                    f"answer {index + 1}: the handler saw fields {sorted(foreign)} that are not"
                    " in the request's head",
                )

    def check_nothing_left_hanging(self) -> None:
        """A connection left open has answered every framed request and runs no handler."""
        if self.pending_tasks:
            raise self._fail(
                "check_nothing_left_hanging",
                f"{self.pending_tasks} task(s) still running after the loop settled",
            )
        if self.closed or self.framing.end == "error":
            return
        answered, framed = len(self.responses.answers), len(self.framing.requests)
        if answered < framed:
            raise self._fail(
                "check_nothing_left_hanging",
                f"the connection is open but only {answered} of {framed} request(s) are answered",
            )

    def check_keeps_serving(self) -> None:
        """A connection left open at a message boundary still serves: the probe gets its 200."""
        if self.probe_body is None or self.closed or self.framing.end != "clean":
            return
        answers = self.responses.answers
        last = answers[-1] if answers else None
        if last is None or (last.status, last.body) != (200, self.probe_body):
            got = "nothing" if last is None else f"{last.status} {last.body[:200]!r}"
            raise self._fail(
                "check_keeps_serving", f"the connection stayed open but the probe got {got}"
            )
