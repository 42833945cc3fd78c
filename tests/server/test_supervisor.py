"""The supervisor's decisions, stepped by hand with a fake clock and a fake process table."""

from __future__ import annotations

import json
import signal

import pytest

from django_bolt.management.commands import runbolt
from django_bolt.server import fresh
from django_bolt.server.config import ServerConfig, load_server_config
from django_bolt.server.supervisor import (
    CRASH_LOOP_S,
    EXIT_INTERRUPTED,
    Supervisor,
    describe_exit,
)
from django_bolt.server.worker import EXIT_STARTUP_FAILED, MSG_READY, MSG_RECYCLE


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeTable:
    """Records what the supervisor asks for; the test scripts what the workers report."""

    def __init__(self) -> None:
        self.next_pid = 100
        self.spawned: list[tuple[int, int]] = []  # (pid, slot)
        self.fresh: set[int] = set()  # pids started as fresh interpreters
        self.sent: list[tuple[int, int]] = []
        self.messages: list[tuple[int, bytes]] = []
        self.exits: list[tuple[int, int]] = []
        self.abandoned: list[int] = []
        self.alive: set[int] = set()

    def spawn(self, slot: int, fresh: bool) -> int:
        self.next_pid += 1
        self.spawned.append((self.next_pid, slot))
        if fresh:
            self.fresh.add(self.next_pid)
        self.alive.add(self.next_pid)
        return self.next_pid

    def send(self, pid: int, sig: int) -> None:
        if pid not in self.alive:
            raise ProcessLookupError(pid)
        self.sent.append((pid, sig))

    def wait(self, timeout: float) -> list[tuple[int, bytes]]:
        messages, self.messages = self.messages, []
        return messages

    def reap(self) -> list[tuple[int, int]]:
        exits, self.exits = self.exits, []
        for pid, _ in exits:
            self.alive.discard(pid)
        return exits

    def abandon_slot(self, slot: int) -> None:
        self.abandoned.append(slot)

    # helpers for the tests
    def pids(self) -> list[int]:
        return [pid for pid, _ in self.spawned]

    def signals_to(self, pid: int) -> list[int]:
        return [sig for p, sig in self.sent if p == pid]


def make(
    slots: int = 2,
    *,
    respawn: bool = False,
    kill_timeout: float = 10.0,
    start_timeout: float = 0.0,
    preloaded: bool = True,
):
    table, clock = FakeTable(), FakeClock()
    logged: list[str] = []
    sup = Supervisor(
        table,
        slots,
        kill_timeout_s=kill_timeout,
        respawn=respawn,
        start_timeout_s=start_timeout,
        clock=clock,
        log=logged.append,
        preloaded=preloaded,
    )
    sup.start()
    return sup, table, clock, logged


def ready_all(sup: Supervisor, table: FakeTable) -> None:
    table.messages += [(pid, MSG_READY) for pid in table.alive]
    assert sup.step() is None
    assert not sup.starting


def test_start_spawns_one_worker_per_slot_and_becomes_ready() -> None:
    sup, table, _, _ = make(3)
    assert [slot for _, slot in table.spawned] == [0, 1, 2]
    assert sup.starting
    ready_all(sup, table)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_drains_every_worker_then_exits_zero(sig: int) -> None:
    sup, table, _, _ = make(2)
    ready_all(sup, table)
    sup.pending_signals.append(sig)
    assert sup.step() is None
    assert all(table.signals_to(pid) == [signal.SIGTERM] for pid in table.pids())
    table.exits += [(pid, 0) for pid in table.pids()]
    assert sup.step() == 0


def test_stragglers_are_killed_after_the_kill_timeout() -> None:
    sup, table, clock, _ = make(1, kill_timeout=2.0)
    ready_all(sup, table)
    sup.handle_sigterm()
    (pid,) = table.pids()
    clock.now += 1.9
    assert sup.step() is None
    assert table.signals_to(pid) == [signal.SIGTERM]
    clock.now += 0.2
    assert sup.step() is None
    assert table.signals_to(pid) == [signal.SIGTERM, signal.SIGKILL]
    table.exits.append((pid, -signal.SIGKILL))
    assert sup.step() == 0


def test_second_sigint_kills_at_once() -> None:
    sup, table, _, _ = make(2)
    ready_all(sup, table)
    sup.pending_signals.extend([signal.SIGINT, signal.SIGINT])
    assert sup.step() == EXIT_INTERRUPTED
    assert all(signal.SIGKILL in table.signals_to(pid) for pid in table.pids())


def test_second_sigint_status_survives_the_killed_workers_exits() -> None:
    """The killed workers' SIGCHLD can be recorded behind the second SIGINT, in one step.

    Their exits empty the fleet, which ends an ordinary drain with its status (0); the status
    of the interrupted exit must stay.
    """
    sup, table, _, _ = make(2)
    ready_all(sup, table)
    sup.pending_signals.append(signal.SIGINT)
    assert sup.step() is None
    table.exits += [(pid, -signal.SIGKILL) for pid in table.pids()]
    sup.pending_signals.extend([signal.SIGINT, signal.SIGCHLD])
    assert sup.step() == EXIT_INTERRUPTED
    assert sup.step() == EXIT_INTERRUPTED


def test_sighup_rolls_one_slot_at_a_time_spawn_first() -> None:
    sup, table, _, _ = make(2)
    ready_all(sup, table)
    old_a, old_b = table.pids()
    sup.handle_sighup()
    # One replacement, for slot 0, and nobody stopped yet.
    assert [slot for _, slot in table.spawned[2:]] == [0]
    assert table.sent == []
    new_a = table.pids()[2]
    table.messages.append((new_a, MSG_READY))
    sup.step()
    # Slot 0's old worker drains only now; slot 1's replacement starts.
    assert table.signals_to(old_a) == [signal.SIGTERM]
    assert table.signals_to(old_b) == []
    assert [slot for _, slot in table.spawned[3:]] == [1]
    new_b = table.pids()[3]
    table.messages.append((new_b, MSG_READY))
    table.exits.append((old_a, 0))
    sup.step()
    assert table.signals_to(old_b) == [signal.SIGTERM]
    table.exits.append((old_b, 0))
    assert sup.step() is None
    assert [s.current.pid for s in sup.slots if s.current] == [new_a, new_b]


def test_recycle_request_spawns_the_replacement_before_stopping_the_old_worker() -> None:
    sup, table, _, _ = make(1)
    ready_all(sup, table)
    (old,) = table.pids()
    table.messages.append((old, MSG_RECYCLE))
    sup.step()
    assert len(table.spawned) == 2
    assert table.sent == []
    # A repeated request does not spawn a second replacement.
    table.messages.append((old, MSG_RECYCLE))
    sup.step()
    assert len(table.spawned) == 2
    new = table.pids()[1]
    table.messages.append((new, MSG_READY))
    sup.step()
    assert table.signals_to(old) == [signal.SIGTERM]
    assert table.signals_to(new) == []


def test_worker_failing_at_start_stops_the_server_with_an_error() -> None:
    sup, table, _, logged = make(2)
    first, second = table.pids()
    table.messages.append((first, MSG_READY))
    table.exits.append((second, EXIT_STARTUP_FAILED))
    assert sup.step() is None
    assert table.signals_to(first) == [signal.SIGTERM]
    assert any("failed to start" in line for line in logged)
    table.exits.append((first, 0))
    assert sup.step() == 1
    # No respawn loop.
    assert len(table.spawned) == 2


def test_dead_worker_without_respawn_shrinks_the_fleet_then_exits_nonzero() -> None:
    sup, table, _, _ = make(2)
    ready_all(sup, table)
    a, b = table.pids()
    table.exits.append((a, -signal.SIGKILL))
    assert sup.step() is None
    assert table.abandoned == [0]
    assert len(table.spawned) == 2
    table.exits.append((b, -signal.SIGKILL))
    assert sup.step() == 1
    assert table.abandoned == [0, 1]


def test_dead_worker_is_respawned_and_a_crash_loop_stops_the_server() -> None:
    sup, table, clock, logged = make(1, respawn=True)
    ready_all(sup, table)
    (first,) = table.pids()
    clock.now += 60
    table.exits.append((first, -signal.SIGKILL))
    sup.step()
    second = table.pids()[1]
    table.messages.append((second, MSG_READY))
    sup.step()
    # Dying long after its start is not a crash loop: respawned again.
    clock.now += CRASH_LOOP_S + 1
    table.exits.append((second, -signal.SIGSEGV))
    sup.step()
    third = table.pids()[2]
    table.messages.append((third, MSG_READY))
    sup.step()
    clock.now += 1
    table.exits.append((third, 1))
    assert sup.step() == 1
    assert any("crash loop" in line for line in logged)
    assert len(table.spawned) == 3


def test_no_action_after_shutdown_began() -> None:
    sup, table, _, _ = make(1, respawn=True)
    ready_all(sup, table)
    (pid,) = table.pids()
    sup.handle_sigterm()
    sup.handle_sighup()
    table.messages.append((pid, MSG_RECYCLE))
    table.exits.append((pid, 0))
    assert sup.step() == 0
    assert len(table.spawned) == 1


def test_describe_exit() -> None:
    assert describe_exit(3) == "exit code 3"
    assert describe_exit(-signal.SIGKILL) == "killed by SIGKILL"


def test_respawned_worker_dying_before_it_reported_ready_is_a_crash_loop() -> None:
    sup, table, clock, logged = make(1, respawn=True)
    ready_all(sup, table)
    (first,) = table.pids()
    clock.now += 60
    table.exits.append((first, -signal.SIGKILL))
    sup.step()
    second = table.pids()[1]
    clock.now += 0.5
    table.exits.append((second, -signal.SIGKILL))
    assert sup.step() == 1
    assert any("crash loop" in line for line in logged)


# --- SIGHUP: code reload -------------------------------------------------------------------------


def test_sighup_replaces_workers_with_fresh_interpreters_and_reports_completion() -> None:
    sup, table, _, logged = make(2)
    ready_all(sup, table)
    assert table.fresh == set()  # the first workers are forks of the parent
    sup.handle_sighup()
    new_a = table.pids()[2]
    table.messages.append((new_a, MSG_READY))
    sup.step()
    new_b = table.pids()[3]
    assert table.fresh == {new_a, new_b}
    assert not any("Reload complete" in line for line in logged)
    table.messages.append((new_b, MSG_READY))
    sup.step()
    assert any("Reload complete" in line for line in logged)


def test_recycling_forks_until_a_reload_then_starts_fresh_interpreters() -> None:
    sup, table, _, _ = make(1)
    ready_all(sup, table)
    (first,) = table.pids()
    table.messages.append((first, MSG_RECYCLE))
    sup.step()
    forked = table.pids()[1]
    assert forked not in table.fresh  # the parent's code is what serves: a fork matches it
    table.messages.append((forked, MSG_READY))
    sup.step()
    sup.handle_sighup()
    fresh = table.pids()[2]
    table.messages.append((fresh, MSG_READY))
    sup.step()
    # A fork now would bring back the code the parent imported at start.
    table.messages.append((fresh, MSG_RECYCLE))
    sup.step()
    assert table.pids()[3] in table.fresh


def test_a_reload_whose_new_worker_fails_to_start_keeps_the_old_workers_serving() -> None:
    sup, table, _, logged = make(2)
    ready_all(sup, table)
    old_a, old_b = table.pids()
    sup.handle_sighup()
    broken = table.pids()[2]
    table.exits.append((broken, EXIT_STARTUP_FAILED))
    assert sup.step() is None
    # Nobody was stopped, the second slot was not tried, and the server goes on.
    assert table.sent == []
    assert len(table.spawned) == 3
    assert [s.current.pid for s in sup.slots if s.current] == [old_a, old_b]
    assert any(f"new worker {broken} failed to start" in line for line in logged)
    assert any("reload abandoned" in line for line in logged)
    assert not any("Reload complete" in line for line in logged)
    # Nothing is retried by itself; the next SIGHUP starts a new round from the first slot.
    sup.step()
    assert len(table.spawned) == 3
    sup.handle_sighup()
    assert table.spawned[3][1] == 0
    assert table.pids()[3] in table.fresh


def test_a_recycling_replacement_that_fails_to_start_leaves_the_old_worker_serving() -> None:
    sup, table, _, logged = make(1)
    ready_all(sup, table)
    (old,) = table.pids()
    table.messages.append((old, MSG_RECYCLE))
    sup.step()
    replacement = table.pids()[1]
    table.exits.append((replacement, EXIT_STARTUP_FAILED))
    assert sup.step() is None
    assert table.sent == []
    assert sup.slots[0].current is not None
    assert sup.slots[0].current.pid == old
    assert any(f"worker {old} keeps serving" in line for line in logged)


def test_a_reload_waits_for_a_forked_replacement_then_replaces_it_with_a_fresh_one() -> None:
    sup, table, _, logged = make(1)
    ready_all(sup, table)
    (old,) = table.pids()
    table.messages.append((old, MSG_RECYCLE))
    sup.step()
    forked = table.pids()[1]
    sup.handle_sighup()
    assert len(table.spawned) == 2  # the slot already has a replacement on its way
    table.messages.append((forked, MSG_READY))
    sup.step()
    # It brought the old code: the slot is replaced again, by a fresh interpreter.
    assert table.signals_to(old) == [signal.SIGTERM]
    fresh = table.pids()[2]
    assert fresh in table.fresh
    table.messages.append((fresh, MSG_READY))
    sup.step()
    assert table.signals_to(forked) == [signal.SIGTERM]
    assert any("Reload complete" in line for line in logged)


def test_a_replacement_that_never_listens_is_killed_and_the_old_worker_serves_on() -> None:
    sup, table, clock, logged = make(2, start_timeout=30.0)
    ready_all(sup, table)
    old_a, old_b = table.pids()
    sup.handle_sighup()
    hung = table.pids()[2]
    clock.now += 29.0
    sup.step()
    assert table.signals_to(hung) == []  # still within its time
    clock.now += 1.0
    sup.step()
    assert table.signals_to(hung) == [signal.SIGKILL]
    assert any(f"new worker {hung} did not start listening within 30 s" in line for line in logged)
    sup.step()
    assert table.signals_to(hung) == [signal.SIGKILL]  # killed once
    table.exits.append((hung, -signal.SIGKILL))
    assert sup.step() is None
    # The reload round is abandoned as for any replacement that failed to start.
    assert [s.current.pid for s in sup.slots if s.current] == [old_a, old_b]
    assert table.signals_to(old_a) == []
    assert any(f"worker {old_a} keeps serving" in line for line in logged)
    assert any("reload abandoned" in line for line in logged)


def test_without_a_start_timeout_a_slow_replacement_is_left_alone() -> None:
    sup, table, clock, _ = make(1)
    ready_all(sup, table)
    sup.handle_sighup()
    slow = table.pids()[1]
    clock.now += 3600.0
    sup.step()
    assert table.signals_to(slow) == []


# --- the loader a fresh interpreter calls ------------------------------------------------------


def test_a_fresh_worker_loads_the_application_by_the_name_its_caller_gave() -> None:
    # The server imports nothing of the framework: runbolt names its loader, the server imports it.
    assert fresh.resolve_loader(runbolt.FRESH_WORKER_LOADER) is runbolt.load_fresh_application
    assert fresh.resolve_loader("json:loads") is json.loads


@pytest.mark.parametrize("name", ["json", "json:", ":loads", ""])
def test_a_malformed_loader_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="module:function"):
        fresh.resolve_loader(name)


def test_a_loader_that_names_nothing_fails_when_resolved() -> None:
    with pytest.raises(AttributeError):
        fresh.resolve_loader("json:no_such_function")


# --- a parent that imported no project (the default with --processes 1) ----------------------


def test_without_a_preloaded_parent_every_worker_is_a_fresh_interpreter() -> None:
    sup, table, clock, _ = make(2, respawn=True, preloaded=False)
    assert table.fresh == set(table.pids())  # the first workers too: there is nothing to fork
    ready_all(sup, table)
    first, second = table.pids()
    table.messages.append((first, MSG_RECYCLE))
    sup.step()
    recycled = table.pids()[2]
    clock.now += CRASH_LOOP_S + 1
    table.exits.append((second, -signal.SIGKILL))
    sup.step()
    respawned = table.pids()[3]
    assert {recycled, respawned} <= table.fresh
    table.messages += [(recycled, MSG_READY), (respawned, MSG_READY)]
    sup.step()
    sup.handle_sighup()
    sup.step()
    assert table.pids()[4] in table.fresh  # and a reload as before


# --- what crosses the exec ---------------------------------------------------------------------


def test_the_options_cross_the_exec_unchanged() -> None:
    config = ServerConfig(
        host="::1",
        processes=3,
        keep_alive_s=2.5,
        metrics_path="/metrics",
        preload=False,
        forwarded_allow_ips="10.0.0.0/8,::1",
    )
    handover = fresh.Handover([5, 6], 7, 42, True, ["/srv/app"], fresh.config_fields(config), "m:f")
    back = fresh.decode(fresh.encode(handover), fresh.Handover)
    assert back == handover
    assert ServerConfig(**back.config) == config


# --- --preload: the default follows --processes ------------------------------------------------


@pytest.mark.parametrize(
    ("cli", "settings_value", "processes", "preloads"),
    [
        ({}, None, 1, False),
        ({}, None, 2, True),
        ({"preload": True}, None, 1, True),
        ({"preload": False}, None, 4, False),
        ({}, False, 4, False),
        ({}, "on", 1, True),
        ({"preload": False}, True, 1, False),  # the flag wins over the setting
    ],
)
def test_preload_is_on_with_several_processes_unless_said_otherwise(
    cli: dict[str, bool], settings_value: object, processes: int, preloads: bool
) -> None:
    class Settings:
        pass

    settings = Settings()
    if settings_value is not None:
        settings.BOLT_PRELOAD = settings_value  # type: ignore[attr-defined]
    config = load_server_config({**cli, "processes": processes}, {}, settings)
    assert config.preloads() is preloads
