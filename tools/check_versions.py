#!/usr/bin/env python3
"""Release check for the versioned APIs between the packages (run by `tox -e lint`).

1. Every dependency on a sibling package admits the sibling's current version.
2. Every package's `__init__.py` defines `__all__` and exports `__version__` (from `__about__`).
3. No package, and no integration test, imports a sibling's private module: across packages
   only `from meow_x import name` (the names in its `__all__`) is allowed, and the same from a
   public subpackage (one whose `__init__.py` defines `__all__`, like `meow_model.pytorch`).

Usage: python tools/check_versions.py [REPO_ROOT]. Exit code 1 with one line per problem.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def package_versions(root: Path) -> dict[str, tuple[str, Path]]:
    """distribution name -> (version, package source dir)."""
    found = {}
    for pyproject in sorted((root / "packages").glob("*/pyproject.toml")):
        name = tomllib.loads(pyproject.read_text())["project"]["name"]
        src = pyproject.parent / "src" / name.replace("-", "_")
        about = (src / "__about__.py").read_text()
        match = re.search(r'^__version__ = "([^"]+)"', about, re.M)
        if not match:
            raise SystemExit(f"{src / '__about__.py'}: no __version__")
        found[name] = (match.group(1), src)
    return found


def check_pins(root: Path, versions: dict[str, tuple[str, Path]]) -> list[str]:
    problems = []
    for pyproject in sorted((root / "packages").glob("*/pyproject.toml")):
        for raw in tomllib.loads(pyproject.read_text())["project"].get("dependencies", []):
            req = Requirement(raw)
            if req.name in versions:
                version = Version(versions[req.name][0])
                if not req.specifier.contains(version):
                    problems.append(f"{pyproject}: '{raw}' does not admit {req.name} {version}")
                if not str(req.specifier):
                    problems.append(
                        f"{pyproject}: '{raw}' has no version range (use ~=MAJOR.MINOR)"
                    )
    return problems


def check_exports(versions: dict[str, tuple[str, Path]]) -> list[str]:
    problems = []
    for _, src in versions.values():
        init = src / "__init__.py"
        tree = ast.parse(init.read_text())
        names = {
            t.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            for t in node.targets
            if isinstance(t, ast.Name)
        }
        imported = {
            a.asname or a.name
            for node in tree.body
            if isinstance(node, ast.ImportFrom)
            for a in node.names
        }
        if "__all__" not in names:
            problems.append(f"{init}: no __all__")
        if "__version__" not in imported | names:
            problems.append(f"{init}: does not export __version__")
    return problems


def check_private_imports(root: Path, versions: dict[str, tuple[str, Path]]) -> list[str]:
    problems = []
    modules = {src.name for _, src in versions.values()}
    public = {
        f"{src.name}.{init.parent.name}"
        for _, src in versions.values()
        for init in src.glob("*/__init__.py")
        if "__all__" in init.read_text()
    }
    scanned = [
        (src.name, path) for _, src in versions.values() for path in sorted(src.rglob("*.py"))
    ]
    scanned += [(None, path) for path in sorted((root / "tests-integration").rglob("*.py"))]
    for own, path in scanned:
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for target in targets:
                top, _, rest = target.partition(".")
                if top in modules and top != own and rest and target not in public:
                    problems.append(
                        f"{path}:{node.lineno}: imports private module {target} (use `from {top} import ...`)"
                    )
    return problems


def main(argv: list[str]) -> int:
    root = Path(argv[0]).resolve() if argv else ROOT
    versions = package_versions(root)
    problems = (
        check_pins(root, versions) + check_exports(versions) + check_private_imports(root, versions)
    )
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print("versions ok: " + ", ".join(f"{name} {v}" for name, (v, _) in versions.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
