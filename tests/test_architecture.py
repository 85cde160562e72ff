"""House rules that import-linter does not check (the layers and cycles are its job, in
``make test``): no private name imported from another module, nothing imports the Streamlit
entry, no ``except ImportError`` fallback to the project's own modules."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("observatory", "geodata", "etl", "indicators", "demo", "render", "cli", "app_pages")
OWN = (*PACKAGES, "app", "navigation")


def _sources() -> dict[str, ast.Module]:
    files = [p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")]
    files += [REPO / "app.py", REPO / "navigation.py"]
    return {str(p.relative_to(REPO)): ast.parse(p.read_text(encoding="utf-8")) for p in files}


def _own(module: str | None) -> bool:
    return bool(module) and module.split(".")[0] in OWN


def test_the_scan_sees_the_code():
    sources = _sources()
    assert len(sources) > 60 and "etl/assign.py" in sources


def test_no_private_name_imported_from_another_module():
    offenders = [
        f"{path}:{node.lineno} from {node.module} import {alias.name}"
        for path, tree in _sources().items() for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 0 and _own(node.module)
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]
    assert offenders == []


def test_nothing_imports_the_streamlit_entry():
    offenders = [
        f"{path}:{node.lineno}" for path, tree in _sources().items() for node in ast.walk(tree)
        if (isinstance(node, ast.ImportFrom) and node.module in ("app", "navigation"))
        or (isinstance(node, ast.Import) and any(a.name in ("app", "navigation")
                                                  for a in node.names))
    ]
    assert offenders == []


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError")
               for n in names)


def test_no_import_error_fallback_to_own_modules():
    offenders = []
    for path, tree in _sources().items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Try) or not any(map(_catches_import_error,
                                                            node.handlers)):
                continue
            for stmt in node.body:
                own = ((isinstance(stmt, ast.ImportFrom) and _own(stmt.module))
                       or (isinstance(stmt, ast.Import) and any(_own(a.name)
                                                                for a in stmt.names)))
                if own:
                    offenders.append(f"{path}:{stmt.lineno}")
    assert offenders == []
