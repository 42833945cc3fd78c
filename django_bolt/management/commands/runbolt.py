"""``manage.py runbolt``: parse the options, bind, print the banner, hand off to the supervisor.

Every flag is generated from :data:`django_bolt.server.config.OPTIONS`; none is written out here. No
server logic lives in this module: processes and signals are ``server/supervisor.py``, reload is
``server/reload.py``.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

import django_bolt
from django_bolt.conf import framework_setting
from django_bolt.discovery import discover_application
from django_bolt.management.loader import (
    FRESH_WORKER_LOADER,
    configure_logging,
    load_fresh_application,
)
from django_bolt.server import reload
from django_bolt.server.accesslog import make_access_log
from django_bolt.server.config import OPTIONS, ServerConfig, ServerConfigError, load_server_config
from django_bolt.server.devfallback import LoadFailure
from django_bolt.server.launch import exec_supervisor
from django_bolt.server.loops import LOOP_NAME
from django_bolt.server.preload import serve
from django_bolt.server.sockets import bind_error_message, create_listener, probe_address
from django_bolt.server.worker import Worker

__all__ = ("FRESH_WORKER_LOADER", "Command", "configure_logging", "load_fresh_application")

if TYPE_CHECKING:
    import argparse
    import socket

    from django_bolt.server.contract import Application

_ARG_TYPES: dict[str, type] = {"int": int, "float": float, "str": str}


def add_option_arguments(parser: argparse.ArgumentParser) -> None:
    """One argparse flag per option with a ``flag`` in the table (default ``None`` = not given)."""
    for f, opt in OPTIONS:
        if opt.flag is None:
            continue
        kind = f.type if isinstance(f.type, str) else f.type.__name__
        kind = kind.removesuffix(" | None")  # a default of None: decided from other options
        if kind == "bool":
            parser.add_argument(
                opt.flag, dest=f.name, action="store_true", default=None, help=opt.help
            )
            if opt.negative_flag:
                parser.add_argument(
                    opt.negative_flag,
                    dest=f.name,
                    action="store_false",
                    default=None,
                    help=f"Turn off {opt.flag}.",
                )
            continue
        parser.add_argument(
            opt.flag,
            dest=f.name,
            type=_ARG_TYPES[kind],
            default=None,
            action="append" if opt.repeatable else "store",
            metavar=opt.metavar or f.name.upper(),
            help=f"{opt.help} Default: {f.default}.",
        )


def _joined(value: Any) -> Any:
    """Return a repeatable flag's values as one str (``os.pathsep`` between them)."""
    return os.pathsep.join(value) if isinstance(value, list) else value


def display_host(host: str) -> str:
    """Return ``host`` as it is written in a URL (an IPv6 address in brackets)."""
    return f"[{host}]" if ":" in host else host


class Command(BaseCommand):
    help = "Serve the project's APIs (and Django's URLs) with django-bolt's HTTP server."

    # We run the checks ourselves (unless --skip-checks), like runserver; this also keeps
    # BaseCommand from adding its own --skip-checks beside the one generated from OPTIONS.
    requires_system_checks: ClassVar[list[str]] = []
    docs_path: ClassVar[str] = "/docs"
    admin_path: ClassVar[str] = "/admin/"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_option_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        cli = {f.name: _joined(options.get(f.name)) for f, _ in OPTIONS}
        try:
            config = load_server_config(cli, os.environ, settings)
        except ServerConfigError as exc:
            raise CommandError(str(exc)) from None
        configure_logging(config.log_level)
        dev_child = os.environ.get(reload.CHILD_ENV) == "1"
        if config.dev and not dev_child:
            self.run_reloader(config)
            return
        if not dev_child:
            # A hang-up (a reload asked for during a slow start) must not kill the server (its
            # default action): ignored until the supervisor handles it.
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
        if not config.skip_checks:
            self.stdout.write("Performing system checks...\n\n")
            try:
                self.check(display_num_errors=True)
            except Exception as exc:
                # SystemCheckError's message is the report Django prints; anything else (a
                # URLconf that fails to import, say) is shown with its traceback.
                is_report = isinstance(exc, CommandError)
                self.report_to_watcher(str(exc) if is_report else traceback.format_exc())
                raise
            self.check_migrations()
        app = self.load_application(config)
        if dev_child:
            self.serve_dev_child(app, config)
            return
        sockets = self.bind(config)
        port = sockets[0][0].getsockname()[1]
        self.print_banner(config, port, docs=self.docs_location(app))
        # No database connection may be shared by forked workers, nor outlive the exec.
        connections.close_all()
        access_log = self.access_log_on(config)
        if config.preloads():
            code = serve(app, config, sockets, access_log=access_log, loader=FRESH_WORKER_LOADER)
            if code:
                sys.exit(code)
            return
        # This process becomes the supervisor, which imports no project: every worker is a
        # fresh interpreter that loads it (server/launch.py).
        try:
            exec_supervisor(config, sockets, access_log=access_log, loader=FRESH_WORKER_LOADER)
        except OSError as exc:
            raise CommandError(f"could not start the supervisor interpreter: {exc}") from None

    @staticmethod
    def access_log_on(config: ServerConfig) -> bool:
        # Access lines are INFO-level records: a quieter --log-level turns them off too.
        return config.access_log and logging.getLevelName(config.log_level.upper()) <= logging.INFO

    def load_application(self, config: ServerConfig) -> Application:
        """Import the project's APIs once, here, so a broken import is reported once."""
        try:
            # The framework reads --no-admin (and any other server option it needs) from it.
            return discover_application(config=config)
        except Exception:
            text = traceback.format_exc()
            self.stderr.write(text)
            self.stderr.write("Error: could not load the application (see above).")
            self.report_to_watcher(text)
            sys.exit(1)

    @staticmethod
    def report_to_watcher(text: str) -> None:
        """Under ``--dev``, hand the watcher the error its error page shows (elsewhere: no-op)."""
        # The settings loaded (only the APIs, the checks or another setting failed): their DEBUG
        # decides, read alone so that the broken setting is what the page shows.
        debug = bool(framework_setting("DEBUG"))
        reload.report_load_failure(LoadFailure(debug=debug, text=text))

    def bind(self, config: ServerConfig) -> list[list[socket.socket]]:
        host = config.host
        try:
            _, port = probe_address(host, config.port)
            workers = config.effective_workers()
            return [
                [create_listener(host, port, config.backlog) for _ in range(workers)]
                for _ in range(config.processes)
            ]
        except OSError as exc:
            self.stderr.write(
                f"Error: {bind_error_message(exc)} ({display_host(host)}:{config.port})"
            )
            sys.exit(1)

    def docs_location(self, app: Application) -> str | None:
        """Where ``app`` serves its documentation UI, or None when its docs are off."""
        if not hasattr(app, "openapi_config"):
            return self.docs_path  # an application of another kind: the conventional place
        config = app.openapi_config
        if config is None or not getattr(config, "enabled", True):
            return None
        return str(getattr(config, "path", self.docs_path))

    def print_banner(
        self, config: ServerConfig, port: int, *, dev: bool = False, docs: str | None = "/docs"
    ) -> None:
        base = f"http://{display_host(config.host)}:{port}"
        workers = config.effective_workers()
        processes = 1 if dev else config.processes
        lines = [
            f"django-bolt {django_bolt.__version__} ({LOOP_NAME}, Python "
            f"{sys.version_info.major}.{sys.version_info.minor}), pid {os.getpid()}",
            f"Listening on {base} ({processes} process{'es' if processes != 1 else ''}, "
            f"{workers} worker{'s' if workers != 1 else ''} each)"
            + (" with auto-reload" if dev else ""),
        ]
        if docs is not None:
            lines.append(f"  Docs:  {base}{docs}")
        if not config.no_admin:
            lines.append(f"  Admin: {base}{self.admin_path}")
        lines.append("Quit the server with CONTROL-C.")
        self.stdout.write("\n".join(lines))
        self.stdout.flush()

    def run_reloader(self, config: ServerConfig) -> None:
        host = config.host
        try:
            _, port = probe_address(host, config.port)
            sock = create_listener(host, port, config.backlog, reuse_port=False)
        except OSError as exc:
            self.stderr.write(
                f"Error: {bind_error_message(exc)} ({display_host(host)}:{config.port})"
            )
            sys.exit(1)
        self.print_banner(config, port, dev=True)
        watch = {Path.cwd()}
        # Read one by one, not as the whole framework config: the watcher must come up while
        # another setting is broken, for its child to report that on the error page.
        base_dir = framework_setting("BASE_DIR")
        if base_dir:
            watch.add(Path(str(base_dir)))
        watch.update(reload.extra_watch_paths(config.reload_dirs, self.stderr.write))
        debug = bool(framework_setting("DEBUG"))
        reloader = reload.Reloader(
            reload.child_arguments(), sock, watch, config=config, debug=debug
        )
        sys.exit(reloader.run())

    def serve_dev_child(self, app: Application, config: ServerConfig) -> None:
        sock = reload.inherited_socket()
        if sock is None:
            raise CommandError(f"{reload.CHILD_ENV} is set but {reload.FD_ENV} is not")
        sockets = [sock, *(sock.dup() for _ in range(config.effective_workers() - 1))]
        log = make_access_log(config) if self.access_log_on(config) else None
        worker = Worker(
            app,
            config,
            sockets,
            access_log=log,
            parent_pid=reload.watcher_pid(),
            stop_on_sigint=True,
        )
        code = worker.run()
        sys.stdout.flush()
        sys.stderr.flush()
        # Threads of the sync pool may still be sleeping in a handler: do not wait for them.
        os._exit(code)
