"""The package's shape, read from its source: layers, no import cycle, no hidden import, size.

An AST walk over ``django_bolt/`` (nothing is imported). Every import statement counts, those
inside functions too (they hide cycles from a plain import), except those under
``if TYPE_CHECKING:``, which never run. ``from pkg import name`` is an edge to ``pkg.name`` when
that is a module, else to ``pkg``; the parent packages Python imports on the way are no edges.

Each allowlist below is today's debt, exactly: a test fails when an entry grows or a new one
appears, and also when an entry is no longer needed, so the lists only shrink.
"""

from __future__ import annotations

import ast
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Final, NamedTuple

ROOT: Final = Path(__file__).resolve().parent.parent / "django_bolt"
PACKAGE: Final = "django_bolt"

# Bottom to top, each group a line of module prefixes relative to django_bolt ("__init__" is the
# package itself); the longest matching prefix decides. A module imports its own layer and those
# below. docs/architecture.md shows the same order.
LAYERS: Final = [
    # The HTTP server: the standard library and its parsers, nothing of the framework.
    "server",
    # What every part of the framework uses, knowing no request.
    "status_codes enums params param_functions cookies conf _conf _compiled exceptions _http"
    " concurrency",
    # The request, its parameters, its session and database, the bridge to Django's views.
    "request types _binding datastructures _django serializers",
    "responses results shortcuts pagination decorators error_handlers",
    "middleware auth jwt_revocation views health mounts logging",
    # Declaring, compiling and dispatching routes.
    "routing router _dispatch websocket",
    # The schema and documentation routes, read from the declared routes.
    "openapi",
    # BoltAPI: routes, their compilation and their documentation together.
    "api",
    # Entry points: the package's public names, the commands, the test client.
    "__init__ discovery testing management cli urls",
]

# Imports that go up a layer today; each one is a step of a cycle or a misplaced helper.
LAYER_VIOLATIONS: Final[set[tuple[str, str]]] = set()

# The strongly connected components of the import graph today.
KNOWN_CYCLES: Final[list[str]] = []

# Imports inside a function body, per module (the lazy optional ones below not counted).
INNER_IMPORTS: Final[dict[str, int]] = {}
# Optional third-party dependencies, imported where they are needed so the rest works without.
LAZY_OPTIONAL: Final = {
    ("server.worker", "psutil"),  # where /proc is missing
    # prometheus_client, with metrics on only: the supervisor interpreter stays small without.
    ("server.launch", "django_bolt.server.metrics"),
    ("server.preload", "django_bolt.server.metrics"),
    ("server.state", "django_bolt.server.metrics"),
    # the websockets library, at a worker's first WebSocket handshake
    ("server.protocol", "django_bolt.server.websocket"),
    ("middleware.rate_limit", "redis.asyncio"),  # a shared rate-limit backend
    ("health", "redis.asyncio"),  # the readiness check of a project with a Redis cache
    ("websocket.broadcast", "redis.asyncio"),  # the Redis broadcast backend
    ("openapi.plugins", "msgspec.yaml"),  # PyYAML, for the YAML document only
    # Django's models cannot be imported before the app registry is ready (django.setup()).
    ("_django.sessions", "django.contrib.auth.models"),
}

# Besides the standard library: its parsers, and what its processes and --dev need.
SERVER_DEPENDENCIES: Final = {
    "httptools",
    "uvloop",
    "msgspec",
    "watchfiles",
    "psutil",
    "websockets",
    "prometheus_client",
}
# The framework reaches the server only through its faces; the entry points may use the rest.
SERVER_FACES: Final = ("server.contract", "server.config")
SERVER_USERS: Final = ("management", "testing", "cli")
SERVER_INTERNALS_USED: Final[set[tuple[str, str]]] = set()

MAX_LINES: Final = 800
LONG_MODULES: Final = {"server.reader": 896}


TYPE_CHECKING_TESTS: Final = ("TYPE_CHECKING", "typing.TYPE_CHECKING")


class Import(NamedTuple):
    source: str  # the importing module, as the lists above write it
    target: str  # the module imported, absolute
    line: int
    in_function: bool


def short(module: str) -> str:
    """Return a django_bolt module's name as the lists above write it."""
    return "__init__" if module == PACKAGE else module.removeprefix(PACKAGE + ".")


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES: Final = _modules()


def _targets(node: ast.Import | ast.ImportFrom, module: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
        parts = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join([*parts, *([node.module] if node.module else [])])
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]


def _walk(node: ast.AST, module: str, in_function: bool, out: list[Import]) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and ast.unparse(child.test) in TYPE_CHECKING_TESTS:
            for stmt in child.orelse:
                _walk(ast.Module(body=[stmt], type_ignores=[]), module, in_function, out)
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            out.extend(
                Import(short(module), target, child.lineno, in_function)
                for target in _targets(child, module)
            )
        nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
        _walk(child, module, nested, out)


IMPORTS: Final[list[Import]] = []
for _module, _path in MODULES.items():
    _walk(ast.parse(_path.read_text(), str(_path)), _module, False, IMPORTS)
# Edges between django_bolt's own modules.
EDGES: Final = {
    (i.source, short(i.target))
    for i in IMPORTS
    if i.target in MODULES and i.source != short(i.target)
}


def layer_of(module: str) -> int | None:
    """Return the index in LAYERS of ``module``'s longest matching prefix, or None."""
    best: tuple[int, int] | None = None
    for index, group in enumerate(LAYERS):
        for prefix in group.split():
            matches = module == prefix or module.startswith(prefix + ".")
            if matches and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    return None if best is None else best[1]


def _cycles() -> list[set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for source, target in EDGES:
        graph[source].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while not component or node not in component:
                component.add(stack.pop())
            if len(component) > 1:
                components.append(component)

    for node in sorted(short(m) for m in MODULES):
        if node not in index:
            visit(node)
    return components


def test_the_server_imports_nothing_of_the_framework() -> None:
    bad = sorted(
        (source, target)
        for source, target in EDGES
        if layer_of(source) == 0 and layer_of(target) != 0
    )
    assert not bad, (
        f"server/ imports the framework: {bad}. The server knows the application only through "
        "server/contract.py; pass what it needs down from the caller (as serve()'s loader)."
    )
    allowed = sys.stdlib_module_names | SERVER_DEPENDENCIES | {PACKAGE}
    server = [i.target for i in IMPORTS if layer_of(i.source) == 0]
    others = sorted({target for target in server if target.partition(".")[0] not in allowed})
    assert not others, (
        f"server/ imports {others}: it runs on the standard library and SERVER_DEPENDENCIES "
        "only. Take the value from the caller, or add a dependency to DESIGN.md first."
    )


def test_every_module_has_a_layer() -> None:
    missing = sorted(short(m) for m in MODULES if layer_of(short(m)) is None)
    assert not missing, f"add these modules to a group of LAYERS in {__file__}: {missing}"


def test_each_layer_imports_only_its_own_and_those_below() -> None:
    layer = {short(m): layer_of(short(m)) for m in MODULES}
    upward = {(s, t) for s, t in EDGES if (layer[s] or 0) < (layer[t] or 0)}
    new = sorted(upward - LAYER_VIOLATIONS)
    assert not new, (
        f"imports that go up a layer (LAYERS in {__file__}): {new}. Move the shared piece down "
        "to the lower layer, or have the caller pass it in."
    )
    gone = sorted(LAYER_VIOLATIONS - upward)
    assert not gone, (
        f"these imports no longer go up a layer: remove them from LAYER_VIOLATIONS: {gone}"
    )


def test_no_import_cycle() -> None:
    found = _cycles()
    known = [set(cycle.split()) for cycle in KNOWN_CYCLES]
    new = [sorted(c) for c in found if c not in known]
    assert not new, (
        f"import cycles: {new}. Break each one (move the shared piece to a lower module); "
        "if a known cycle only changed shape while shrinking, update KNOWN_CYCLES to match."
    )
    gone = [sorted(c) for c in known if c not in found]
    assert not gone, f"these cycles are gone: remove them from KNOWN_CYCLES: {gone}"


def test_no_import_inside_a_function() -> None:
    inner = [i for i in IMPORTS if i.in_function]
    lazy = {(i.source, i.target) for i in inner}
    assert lazy >= LAZY_OPTIONAL, f"remove from LAZY_OPTIONAL: {sorted(LAZY_OPTIONAL - lazy)}"
    statements = {(i.source, i.line) for i in inner if (i.source, i.target) not in LAZY_OPTIONAL}
    counts = Counter(source for source, _ in statements)
    grew = {m: n for m, n in counts.items() if n > INNER_IMPORTS.get(m, 0)}
    assert not grew, (
        f"imports inside functions (module: count): {grew}, allowed {INNER_IMPORTS}. Import at "
        "module level; an import cycle that forbids it is to be broken, not hidden. Only an "
        "optional third-party dependency may be imported lazily (add it to LAZY_OPTIONAL)."
    )
    fell = {m: counts.get(m, 0) for m, n in INNER_IMPORTS.items() if counts.get(m, 0) < n}
    assert not fell, f"fewer imports inside functions: lower INNER_IMPORTS to {fell}"


def test_the_framework_reaches_the_server_through_its_faces() -> None:
    def internal(source: str, target: str) -> bool:
        return (
            layer_of(source) != 0
            and layer_of(target) == 0
            and not target.startswith(SERVER_FACES)
            and not source.startswith(SERVER_USERS)
        )

    used = {(s, t) for s, t in EDGES if internal(s, t)}
    new = sorted(used - SERVER_INTERNALS_USED)
    assert not new, (
        f"the framework imports server internals: {new}. Export what it needs from "
        "server/contract.py (the server's public face) and import it there."
    )
    gone = sorted(SERVER_INTERNALS_USED - used)
    assert not gone, f"remove from SERVER_INTERNALS_USED: {gone}"


def test_modules_stay_small() -> None:
    lines = {short(m): len(p.read_text().splitlines()) for m, p in MODULES.items()}
    long = {m: n for m, n in lines.items() if n > LONG_MODULES.get(m, MAX_LINES)}
    assert not long, (
        f"modules over {MAX_LINES} lines (or over their LONG_MODULES ceiling): {long}. "
        "Split by job (a module per stage of the request path)."
    )
    shrunk = {m: lines[m] for m, n in LONG_MODULES.items() if lines.get(m, 0) < n}
    assert not shrunk, (
        f"lower LONG_MODULES to these line counts (or drop those <= {MAX_LINES}): {shrunk}"
    )


def _private_slots() -> set[str]:
    """Return the private slot names of ``Request`` and the server's ``RawRequest``."""
    names: set[str] = set()
    for module in ("django_bolt.request", "django_bolt.server.contract"):
        for node in ast.walk(ast.parse(MODULES[module].read_text())):
            if not (isinstance(node, ast.ClassDef) and node.name in ("Request", "RawRequest")):
                continue
            for stmt in node.body:
                if (
                    isinstance(stmt, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "__slots__" for t in stmt.targets)
                    and isinstance(stmt.value, ast.Tuple)
                ):
                    names.update(
                        e.value
                        for e in stmt.value.elts
                        if isinstance(e, ast.Constant) and str(e.value).startswith("_")
                    )
    return names


def _private_writes(tree: ast.AST, slots: set[str]) -> list[tuple[int, str]]:
    """Return (line, text) of each write to a request's private attribute in ``tree``."""
    found = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = [*node.targets]
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("setattr", "object.__setattr__")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
        ):
            owner, name = node.args[0], str(node.args[1].value)
            if name.startswith("_") and "request" in ast.unparse(owner).lower():
                found.append((node.lineno, ast.unparse(node)))
            continue
        while targets:
            target = targets.pop()
            if isinstance(target, ast.Tuple | ast.List):
                targets.extend(target.elts)
            elif isinstance(target, ast.Attribute) and target.attr.startswith("_"):
                owner = ast.unparse(target.value)
                if owner in ("self", "cls"):
                    continue
                if target.attr in slots or "request" in owner.lower():
                    found.append((target.lineno, ast.unparse(target)))
    return found


def test_only_the_request_writes_its_private_slots() -> None:
    slots = _private_slots()
    assert {"_session", "_user", "_query_string"} <= slots
    owners = ("request", "server")  # request.py, and the server for RawRequest's own slots
    writes = [
        f"{short(module)}:{line}: {text}"
        for module, path in MODULES.items()
        if not short(module).startswith(owners)
        for line, text in _private_writes(ast.parse(path.read_text()), slots)
    ]
    assert not writes, (
        f"writes to a request's private slots outside request.py: {writes}. Use Request's "
        "setters (set_identity, set_path_params, set_query_string, session = ...)."
    )


ARCHITECTURE: Final = ROOT.parent / "docs" / "architecture.md"


def _doc_blocks() -> list[list[str]]:
    """Return the lines of each ```text block of docs/architecture.md."""
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for line in ARCHITECTURE.read_text().splitlines():
        if current is None and line.strip() == "```text":
            current = []
        elif current is not None and line.strip() == "```":
            blocks.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def test_the_architecture_doc_lists_every_module() -> None:
    tree = _doc_blocks()[0]
    listed = {line.split()[0] for line in tree if line.strip()}
    files = {str(path.relative_to(ROOT)) for path in MODULES.values()}
    assert not files - listed, f"add to docs/architecture.md's tree: {sorted(files - listed)}"
    assert not listed - files, f"gone, drop from docs/architecture.md: {sorted(listed - files)}"
    described = [line for line in tree if line.strip() and len(line.split()) < 2]
    assert not described, f"give each module a line of its own: {described}"


def test_the_architecture_doc_shows_the_layers() -> None:
    layers = [line.split(". ", 1)[1].split() for line in _doc_blocks()[1] if line.strip()]
    assert layers == [group.split() for group in LAYERS]
