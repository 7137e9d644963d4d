"""The import direction of docs/architecture.md, checked on the source with ``ast``.

The platform core (``citizen_portal.core``) imports no other project code. Outside the core, packages
do not import each other, with two written exceptions: appointment booking uses the calendar facade
``staff_calendar.services``, and the site-file loader (``citizen_portal.site``) writes the calendar
links, floors, desks and rooms. ``citizen_portal.app`` (the composition root) imports everything.

Each rule lists offending imports as ``path:line: module imports target`` so a failure says what to
move. Imports under ``if TYPE_CHECKING:`` count too: the direction is about design, not runtime."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("citizen_portal", "staff_calendar", "polls")
CORE = "citizen_portal.core"
CALENDAR_LIBRARIES = ("caldav", "icalendar", "recurring_ical_events")
# modules only create_app may import: blueprints, CLI groups, job registrations
ENTRY_SUFFIXES = ("views", "staff_views", "admin_views", "api", "graph_api", "cli", "jobs")
# citizen_portal.site (the site-file loader) writes the calendar links, floors, desks and rooms, and
# validates [site] spaces with its one declaration
SITE_LOADER_MAY_IMPORT = frozenset({"staff_calendar.calendars.models", "staff_calendar.spaces.models",
                                    "staff_calendar.spaces.settings"})


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module (or module.attribute for ``from x import y``)
    path: str
    line: int
    in_function: bool


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    if level == 0:
        return name or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


class _Collector(ast.NodeVisitor):
    def __init__(self, module: str, path: Path) -> None:
        self.module = module
        self.path = path
        self.is_package = path.name == "__init__.py"
        self.depth = 0
        self.imports: list[Import] = []

    def _add(self, target: str, node: ast.AST) -> None:
        self.imports.append(Import(self.module, target, str(self.path.relative_to(ROOT)), node.lineno,
                                   self.depth > 0))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:  # function-scope imports
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = _resolve(self.module, self.is_package, node.level, node.module)
        for alias in node.names:
            # ``from citizen_portal.auth import services`` imports the module citizen_portal.auth.services
            # (or, if ``name`` is an attribute, the module citizen_portal.auth: see _project_target)
            self._add(f"{base}.{alias.name}" if alias.name != "*" else base, node)


def _project_files() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def _all_imports() -> list[Import]:
    found: list[Import] = []
    for path in _project_files():
        collector = _Collector(_module_name(path), path)
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        found.extend(collector.imports)
    return found


IMPORTS = _all_imports()
PROJECT_MODULES = {_module_name(path) for path in _project_files()}


def _project_target(target: str) -> str | None:
    """The project module an import refers to (``a.b.name`` → ``a.b`` if ``name`` is not a module)."""
    while target:
        if target in PROJECT_MODULES:
            return target
        target = target.rpartition(".")[0]
    return None


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _report(violations: list[str], rule: str) -> None:
    if violations:
        pytest.fail(f"{rule}\n  " + "\n  ".join(sorted(set(violations))), pytrace=False)


def _project_imports():
    for item in IMPORTS:
        target = _project_target(item.target)
        if target is not None and target != item.module:
            yield item, target


def test_the_core_imports_only_the_core():
    violations = [f"{i.path}:{i.line}: {i.module} imports {t}" for i, t in _project_imports()
                  if _within(i.module, CORE) and not _within(t, CORE)]
    _report(violations, "citizen_portal.core may import only itself:")


@pytest.mark.parametrize("package,forbidden", [("staff_calendar", "polls"), ("polls", "staff_calendar")])
def test_staff_calendar_and_polls_import_only_the_core(package, forbidden):
    violations = [
        f"{i.path}:{i.line}: {i.module} imports {t}" for i, t in _project_imports()
        if _within(i.module, package)
        and (_within(t, forbidden) or (_within(t, "citizen_portal") and not _within(t, CORE)))
    ]
    _report(violations, f"{package} may import only citizen_portal.core, never {forbidden}:")


def test_booking_uses_only_the_staff_calendar_facade():
    violations = [f"{i.path}:{i.line}: {i.module} imports {t}" for i, t in _project_imports()
                  if _within(i.module, "citizen_portal.booking") and _within(t, "staff_calendar")
                  and t != "staff_calendar.services"]
    _report(violations, "citizen_portal.booking may import staff_calendar.services (the facade) only:")


def test_rest_of_citizen_portal_stays_out_of_staff_calendar_and_polls():
    violations = []
    for i, t in _project_imports():
        if (not _within(i.module, "citizen_portal") or _within(i.module, "citizen_portal.booking")
                or _within(i.module, CORE)):
            continue
        if i.module == "citizen_portal.app":
            continue
        if _within(t, "polls") or (_within(t, "staff_calendar") and not (
                _within(i.module, "citizen_portal.site") and t in SITE_LOADER_MAY_IMPORT | {"staff_calendar"})):
            violations.append(f"{i.path}:{i.line}: {i.module} imports {t}")
    _report(violations, "outside booking, citizen_portal imports no staff_calendar/polls code "
                        "(exception: citizen_portal.site may import staff_calendar.{calendars,spaces}.models and "
                        "staff_calendar.spaces.settings):")


def test_pages_and_auth_import_no_domain_code():
    violations = [f"{i.path}:{i.line}: {i.module} imports {t}" for i, t in _project_imports()
                  if _within(i.module, "citizen_portal.pages") or _within(i.module, "citizen_portal.auth")
                  if any(_within(t, p) for p in ("citizen_portal.booking", "citizen_portal.site"))]
    _report(violations, "the app shell (pages, auth) must not import domain code:")


def _is_entry_module(module: str) -> bool:
    # the core's job and API-operation registries are plain modules every package uses
    return module.rpartition(".")[2] in ENTRY_SUFFIXES and module not in {"citizen_portal.core.jobs",
                                                                         "citizen_portal.core.api"}


def test_only_create_app_imports_blueprints_cli_and_jobs():
    violations = []
    for i, t in _project_imports():
        if not _is_entry_module(t):
            continue
        if i.module == "citizen_portal.app" and i.in_function:
            continue
        # an entry module's own package may share helpers with it (e.g. cli → cli helpers)
        if _is_entry_module(i.module) and t.rpartition(".")[0] == i.module.rpartition(".")[0]:
            continue
        violations.append(f"{i.path}:{i.line}: {i.module} imports {t}")
    _report(violations, "only citizen_portal/app.py (inside create_app) imports views/api/cli/jobs modules:")


def test_app_module_imports_entry_modules_only_inside_create_app():
    source = (ROOT / "citizen_portal/app.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    top_level = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    names = [alias.name for node in top_level for alias in node.names]
    modules = [getattr(node, "module", None) or "" for node in top_level]
    offending = [name for name in [*names, *modules] if _is_entry_module(name)]
    assert not offending, f"citizen_portal/app.py imports entry modules at module level: {offending}"


def test_citizen_portal_package_init_has_no_imports():
    tree = ast.parse((ROOT / "citizen_portal/__init__.py").read_text(encoding="utf-8"))
    imports = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]
    assert not imports, f"citizen_portal/__init__.py must stay free of imports (lines {imports})"


def test_only_staff_calendar_speaks_caldav_and_icalendar():
    violations = [f"{i.path}:{i.line}: {i.module} imports {i.target}" for i in IMPORTS
                  if i.target.split(".")[0] in CALENDAR_LIBRARIES and not _within(i.module, "staff_calendar")]
    _report(violations, f"only staff_calendar may import {', '.join(CALENDAR_LIBRARIES)}:")


def test_the_checker_sees_imports():
    """Guard against a checker that silently finds nothing."""
    assert len(IMPORTS) > 50
    assert any(i.module == "citizen_portal.pages.views" and i.target.startswith("citizen_portal.core.models")
               for i in IMPORTS)
    assert _resolve("citizen_portal.auth.views", False, 1, "services") == "citizen_portal.auth.services"
    assert _resolve("citizen_portal.auth", True, 1, None) == "citizen_portal.auth"
