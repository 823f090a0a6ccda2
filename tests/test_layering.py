"""The import rules ARCHITECTURE.md states, checked on the source (no module is imported)."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "dialup_admin"


def imports() -> dict[str, set[str]]:
    """{module: the dialup_admin modules it imports}, read with ast (relative imports resolved)."""
    out: dict[str, set[str]] = {}
    for f in sorted(PKG.rglob("*.py")):
        parts = ("dialup_admin", *f.relative_to(PKG).with_suffix("").parts)
        pkg = list(parts[:-1])
        mod = ".".join(parts[:-1] if f.name == "__init__.py" else parts)
        found: set[str] = set()
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            if isinstance(node, ast.ImportFrom):
                base = ".".join(pkg[: len(pkg) - node.level + 1]) if node.level else ""
                name = ".".join(p for p in (base, node.module or "") if p)
                found.update([name] if node.module else [f"{name}.{a.name}" for a in node.names])
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
        out[mod] = {m for m in found if m.split(".")[0] == "dialup_admin"}
    return out


def area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def offenders(src: set[str], dst: set[str]) -> list[str]:
    return sorted(f"{m} imports {i}" for m, ims in imports().items() if area(m) in src
                  for i in ims if area(i) in dst)


def test_pure_layers_never_touch_the_machine() -> None:
    assert offenders({"model", "render", "formats", "radius"}, {"system", "core", "commands", "cli", "lab"}) == []


def test_core_never_imports_commands() -> None:
    assert offenders({"core"}, {"commands", "cli", "lab"}) == []


def test_system_never_imports_upward() -> None:
    assert offenders({"system"}, {"core", "commands", "cli", "lab"}) == []


def test_lab_is_used_only_by_the_lab_command() -> None:
    users = sorted(m for m, ims in imports().items() if area(m) != "lab" and any(area(i) == "lab" for i in ims))
    assert users == ["dialup_admin.commands.lab"]


def test_the_walk_sees_the_package() -> None:
    graph = imports()
    assert "dialup_admin.core.server" in graph and "dialup_admin.system.files" in graph["dialup_admin.core.plan"]


IO_MODULES = {"os", "io", "pathlib", "shutil", "glob", "socket", "subprocess", "pexpect", "fcntl", "tempfile"}


def test_formats_parse_bytes_and_never_do_io() -> None:
    """formats/ gets bytes and gives data back: the reading is system/'s (system/probe.py for doctor)."""
    found = []
    for f in sorted((PKG / "formats").glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            found += [f"{f.name} imports {n}" for n in names if n.split(".")[0] in IO_MODULES]
    assert found == []
