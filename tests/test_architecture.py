"""The package rules of ../shared/DESIGN.md, checked by walking imports with `ast`.

Each rule names the bug it prevents; a failure prints the offending import.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPOSITION_ROOTS = {"app/main.py", "app/worker.py", "app/cli.py"}
ADAPTER_PACKAGES = ("channels", "routing", "knowledge_base", "widgets")


def imports(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module


def files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def top(module: str) -> str:
    return module.split(".")[0]


def violations(package: str, rule: str, forbidden: object) -> list[str]:
    found = []
    for path in files(package):
        rel = path.relative_to(ROOT).as_posix()
        for line, module in imports(path):
            if forbidden(rel, module):  # type: ignore[operator]
                found.append(f"{rel}:{line} imports {module}: {rule}")
    return found


def test_domain_never_imports_an_adapter() -> None:
    """The domain owns its ports; importing a channel from it would tie every deployment
    (and every test) to that channel's libraries and let adapters and domain cycle."""
    found = violations(
        "app",
        "only the composition root (app/main.py, app/worker.py, app/cli.py) may wire adapters",
        lambda rel, module: rel not in COMPOSITION_ROOTS and top(module) in ADAPTER_PACKAGES,
    )
    assert not found, "\n".join(found)


WEB_LAYER = ("litestar", "app.main", "app.deps")


def _is_web(module: str) -> bool:
    return module.startswith(WEB_LAYER) or module.endswith((".controller", ".deps"))


def test_channels_use_domain_services_not_the_web_layer() -> None:
    """Adapters run in workers and pollers too; reaching into controllers would make a
    mail poller depend on a request context that does not exist there."""
    found = violations(
        "channels", "adapters call domain services, never the web layer", lambda _, m: _is_web(m)
    )
    assert not found, "\n".join(found)


PROJECT = {"app", *ADAPTER_PACKAGES}
IO_LIBRARIES = {
    "sqlalchemy",
    "asyncpg",
    "redis",
    "arq",
    "httpx",
    "litestar",
    "aiosmtplib",
    "aioimaplib",
}


# Besides the standard library the core may use only pure-data libraries.
CORE_LIBRARIES = {"holidays"}
IMPURE_STDLIB = {"asyncio", "socket", "subprocess", "sqlite3", "http", "urllib", "threading"}


def _impure_for_core(module: str) -> bool:
    if top(module) == "routing":
        return not module.startswith("routing.core")
    return top(module) in PROJECT | IO_LIBRARIES | IMPURE_STDLIB or top(module) not in (
        sys.stdlib_module_names | CORE_LIBRARIES
    )


def test_routing_core_is_pure() -> None:
    """Routing decisions are pure functions with an injected clock, so they can be tested
    exhaustively and replayed; any I/O or project import in the core breaks that."""
    found = violations(
        "routing/core",
        "the routing core imports only itself, the standard library and pure-data libraries",
        lambda _, m: _impure_for_core(m),
    )
    assert not found, "\n".join(found)


def test_the_core_purity_check_sees_impure_imports() -> None:
    impure = ["app.tickets.models", "channels.chat", "sqlalchemy.orm", "redis.asyncio",
              "litestar", "routing.driver", "asyncio", "numpy"]  # fmt: skip
    pure = ["routing.core.calendars", "datetime", "zoneinfo", "holidays", "collections.abc"]
    assert [m for m in impure if not _impure_for_core(m)] == []
    assert [m for m in pure if _impure_for_core(m)] == []


def test_widgets_and_knowledge_base_stay_in_their_lane() -> None:
    """Widgets may use the domain and the chat channel only; the knowledge base only the
    domain. Anything else couples features that ship and scale separately."""
    found = violations(
        "widgets",
        "widgets import the app domain and channels.chat only",
        lambda _, m: (
            (top(m) == "channels" and not m.startswith("channels.chat"))
            or top(m) in {"routing", "knowledge_base"}
            or _is_web(m)
        ),
    )
    found += violations(
        "knowledge_base",
        "the knowledge base imports the app domain only",
        lambda _, m: top(m) in {"channels", "routing", "widgets"},
    )
    assert not found, "\n".join(found)


@pytest.mark.parametrize("path", files("migrations/versions"), ids=lambda p: p.name)
def test_migrations_do_not_import_app_code(path: Path) -> None:
    """A migration must replay the same way forever; importing today's models would change
    what an old revision does when those models change."""
    found = [f"line {line}: {m}" for line, m in imports(path) if top(m) in PROJECT]
    assert not found, "\n".join(found)


def test_no_file_grows_past_600_lines() -> None:
    """STYLE.md: past about 400 lines a module becomes a sub-package; none may reach 600."""
    long = [
        f"{p.relative_to(ROOT)}: {n} lines"
        for package in ("app", *ADAPTER_PACKAGES)
        for p in files(package)
        if (n := len(p.read_text().splitlines())) >= 600
    ]
    assert not long, "\n".join(long)


LIFECYCLE = "app/tickets/lifecycle/"
# The ticket columns that only the lifecycle writes.
TICKET_STATE = {
    "status", "last_seq", "priority", "assignee_id", "team_id", "tags", "custom_fields",
    "required_skill_ids", "required_skills", "merged_into_id", "contact_id",
    "first_responded_at", "solved_at", "closed_at", "linked_ticket_id", "subject",
}  # fmt: skip


def _ticket_writes(path: Path) -> Iterator[tuple[int, str]]:
    """Places that write ticket state: `Ticket(...)`, `insert/update(Ticket)`, or an
    assignment to a state attribute of something named like a ticket."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name == "Ticket":
                yield node.lineno, "opens a ticket (Ticket(...))"
            first = node.args[0] if node.args else None
            if (
                name in {"insert", "update"}
                and isinstance(first, ast.Name)
                and first.id == "Ticket"
            ):
                yield node.lineno, f"{name}(Ticket)"
            if name == "setattr" and isinstance(first, ast.Name) and "ticket" in first.id:
                yield node.lineno, f"setattr({first.id}, ...)"
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            for element in target.elts if isinstance(target, ast.Tuple) else [target]:
                if not isinstance(element, ast.Attribute):
                    continue
                on_a_ticket = "ticket" in ast.unparse(element.value).lower()
                if element.attr == "last_seq" or (element.attr in TICKET_STATE and on_a_ticket):
                    yield node.lineno, f"assigns {ast.unparse(element)}"


def test_only_the_lifecycle_writes_ticket_state() -> None:
    """Ticket state has one writer so every change gets its seq, its event, its audit row
    and its hooks (SLA, routing, realtime); a second writer is a change nobody hears of."""
    found = [
        f"{path.relative_to(ROOT)}:{line} {what}: go through app.tickets.lifecycle"
        for package in ("app", *ADAPTER_PACKAGES)
        for path in files(package)
        if not path.relative_to(ROOT).as_posix().startswith(LIFECYCLE)
        for line, what in _ticket_writes(path)
    ]
    assert not found, "\n".join(found)


def test_the_ticket_write_check_sees_writes(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "ticket.status = 'open'\n"
        "t.last_seq = 3\n"
        "session.add(Ticket(subject='x'))\n"
        "stmt = update(Ticket).values(status='open')\n"
        "ticket.assignee_id, other = 1, 2\n"
        "message.status = 'sent'\n"
    )
    assert sorted(line for line, _ in _ticket_writes(sample)) == [1, 2, 3, 4, 5]


# Bounded contexts of app/: packages that change together. Inside one, packages use each
# other freely; between contexts imports go one way only, so each context can be read,
# tested and changed without the ones that build on it.
CONTEXTS = {
    "staff": {"agents", "auth"},
    "customers": {"accounts", "contacts"},
    "inboxes": {"inboxes"},
    "conversations": {"tickets", "messages", "attachments", "views", "replies"},
    "intake": {"ingest", "inbound", "mail"},
    "chat": {"chat"},
    "realtime": {"realtime"},
    "console": {"console"},
    "health": {"health"},
    # Shared by every context, and importing none.
    "kernel": {"db", "security", "audit", "outbox", "http"},
}
# Leaf modules inside a context that every context may use: they import no context.
SHARED_MODULES = {
    "app.auth.actor": "the caller every permission check takes",
    "app.inboxes.channels": "the channel registry",
    "app.ingest.types": "the channel port's message types",
    "app.attachments.storage": "files on disk by hash",
    "app.outbox.service": "writing an event into the outbox",
}
# The web layer and the wiring sit above every context and may use them all.
ABOVE_CONTEXTS = ("controller", "deps")
WIRING = {"app.outbox.jobs": "which job each committed event triggers"}


def _context_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "app" or len(parts) < 3:
        return None  # app itself and its top-level modules (errors, main, ...)
    return next((name for name, pkgs in CONTEXTS.items() if parts[1] in pkgs), None)


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _context_edges() -> dict[tuple[str, str], list[str]]:
    edges: dict[tuple[str, str], list[str]] = {}
    for path in files("app"):
        module = _module_name(path)
        source = _context_of(module)
        if source is None or module.endswith(ABOVE_CONTEXTS) or module in WIRING:
            continue
        for line, imported in imports(path):
            target = _context_of(imported)
            if target is None or target == source or imported in SHARED_MODULES:
                continue
            rel = path.relative_to(ROOT).as_posix()
            edges.setdefault((source, target), []).append(f"{rel}:{line} imports {imported}")
    return edges


def test_no_import_cycle_between_contexts() -> None:
    """A cycle makes two contexts one in disguise: neither can be understood, tested or
    changed alone, and import order starts to matter (the bug a cycle eventually causes)."""
    edges = _context_edges()
    graph: dict[str, set[str]] = {}
    for source, target in edges:
        graph.setdefault(source, set()).add(target)
    assert all(source != "kernel" for source, _ in edges), (
        "the kernel imports no context:\n"
        + "\n".join(
            line for (source, _), lines in edges.items() if source == "kernel" for line in lines
        )
    )

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(
            nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt}))
            for nxt in graph.get(start, ())
        )

    cycles = [
        "\n".join([f"{a} -> {b} closes a cycle:", *edges[(a, b)]])
        for a, b in sorted(edges)
        if reaches(b, a, {b})
    ]
    assert not cycles, "\n".join(cycles)


def _owners() -> dict[str, str]:
    """Model class name -> the context whose table it is."""
    owners = {}
    for path in files("app"):
        context = _context_of(_module_name(path))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(s, ast.Assign)
                and any(getattr(t, "id", "") == "__tablename__" for t in s.targets)
                for s in node.body
            ):
                owners[node.name] = context or "kernel"
    return owners


def test_a_context_writes_another_contexts_tables_only_through_its_services() -> None:
    """A table has one owner that keeps its rules (events, audit, invariants); a second
    writer reaching in with INSERT/UPDATE/DELETE is how those rules get skipped."""
    owners = _owners()
    found = []
    for path in files("app"):
        module = _module_name(path)
        context = _context_of(module)
        if context is None:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            model = None
            if name in owners:
                model = name  # constructing a row
            elif name in {"insert", "update", "delete"} and node.args:
                model = getattr(node.args[0], "id", None)
            if model in owners and owners[model] != context:
                found.append(
                    f"{path.relative_to(ROOT)}:{node.lineno} writes {model} "
                    f"({owners[model]}'s table) from {context}"
                )
    assert not found, "\n".join(found)
