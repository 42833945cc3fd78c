"""Find the project's APIs: ``BOLT_API``, else ``<project>.api`` and each app's ``api`` module."""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any, cast

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from django_bolt.api import BoltAPI
from django_bolt.conf import framework_config

if TYPE_CHECKING:
    from types import ModuleType

    from django_bolt.conf import ServerConfig
    from django_bolt.server.contract import Application

__all__ = ("discover_apis", "discover_application")


def _import_candidate(module_name: str) -> ModuleType | None:
    """Import ``module_name`` if it exists; an error *inside* it is raised naming the module."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only "this module does not exist" means "no API here"; a failing import inside is a bug.
        if exc.name is not None and (
            module_name == exc.name or module_name.startswith(exc.name + ".")
        ):
            return None
        raise ImproperlyConfigured(f"Error importing {module_name}: {exc}") from exc
    except Exception as exc:
        raise ImproperlyConfigured(f"Error importing {module_name}: {exc!r}") from exc


def _apis_in(module: ModuleType) -> list[BoltAPI]:
    return [value for value in vars(module).values() if isinstance(value, BoltAPI)]


def _explicit(specs: tuple[str, ...]) -> list[BoltAPI]:
    apis: list[BoltAPI] = []
    for spec in specs:
        # 'module:attr', as the setting's check made sure.
        module_name, _, attr = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            raise ImproperlyConfigured(f"BOLT_API: error importing {module_name}: {exc!r}") from exc
        api = getattr(module, attr, None)
        if not isinstance(api, BoltAPI):
            raise ImproperlyConfigured(
                f"BOLT_API: {spec} is not a BoltAPI (got {type(api).__name__})"
            )
        apis.append(api)
    return apis


def _project_package() -> str | None:
    # The project package is the one holding urls.py (``mysite.urls`` → ``mysite``).
    urlconf = framework_config().root_urlconf
    if urlconf is not None and "." in urlconf:
        return urlconf.rpartition(".")[0]
    module = os.environ.get("DJANGO_SETTINGS_MODULE", "")
    return module.rpartition(".")[0] or None


def discover_apis() -> list[BoltAPI]:
    """Every BoltAPI the project defines, in discovery order, without duplicates."""
    specs = framework_config().bolt_api
    if specs:
        return _explicit(specs)
    candidates: list[str] = []
    project = _project_package()
    if project:
        candidates.append(f"{project}.api")
    candidates.extend(
        f"{config.name}.api" for config in apps.get_app_configs() if config.name != "django_bolt"
    )
    # Every module first: an API is left out when any of them mounts it (it is served under
    # that prefix only), whichever was imported first.
    modules = [_import_candidate(name) for name in dict.fromkeys(candidates)]
    found: list[BoltAPI] = []
    seen: set[int] = set()
    for module in modules:
        if module is None:
            continue
        for api in _apis_in(module):
            if id(api) not in seen and not api.mounted:
                seen.add(id(api))
                found.append(api)
    return found


def _one_formatter(apis: list[BoltAPI]) -> Any:
    """Return the error formatter of the project's APIs: one for all, as Django-Bolt 0.13 has."""
    formatters = {id(api.error_formatter): api.error_formatter for api in apis}
    formatters.pop(id(None), None)
    if len(formatters) > 1:
        raise ImproperlyConfigured(
            "the project's APIs set different error_formatter functions; runbolt serves them "
            "with one: set the same one on each API, or on one only"
        )
    return next(iter(formatters.values()), None)


def discover_application(config: ServerConfig | None = None) -> Application:
    """Return the one application ``runbolt`` serves: the project's APIs merged, routes checked.

    ``config.no_admin`` (``runbolt --no-admin``) turns the fall-through to Django's URLconf off.
    """
    apis = discover_apis()
    if not apis:
        project = _project_package() or "<project>"
        raise ImproperlyConfigured(
            "No BoltAPI found. Define one at module level in "
            f"{project}/api.py or in an installed app's api.py, "
            "or list them in settings.BOLT_API = ['module:attr']."
        )
    if len(apis) == 1:
        app = apis[0]
    else:
        # Any API that opted out of the fall-through keeps it off for the merged one.
        opted_out = any(api.django_fallthrough is False for api in apis)
        app = BoltAPI(trailing_slash="keep", django_fallthrough=False if opted_out else None)
        # Not mount(): these APIs stay top-level for the next discovery too.
        app._mounts.extend(("", api, False) for api in apis)  # each keeps its trailing_slash
        app.error_formatter = _one_formatter(apis)
    if config is not None and config.no_admin:
        app.django_fallthrough = False
    try:
        app.compile()  # duplicate routes and bad signatures fail here, at start-up
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(str(exc)) from exc
    # BoltAPI.request_class is a ClassVar narrowing RawRequest; the protocol spells it loosely.
    return cast("Application", app)
