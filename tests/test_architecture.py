"""The package rules of ../shared/DESIGN.md, checked by walking imports with `ast`.

Each rule names the bug it prevents; a failure prints the offending import.
"""

from __future__ import annotations

import ast
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


def test_routing_core_is_pure() -> None:
    """Routing decisions are pure functions with an injected clock, so they can be tested
    exhaustively and replayed; any I/O or project import in the core breaks that."""
    found = violations(
        "routing/core",
        "the routing core imports nothing of the project and does no I/O",
        lambda _, m: top(m) in PROJECT | IO_LIBRARIES,
    )
    assert not found, "\n".join(found)


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
    "required_skill_ids", "merged_into_id", "contact_id", "first_responded_at", "solved_at",
    "closed_at", "linked_ticket_id", "subject",
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
