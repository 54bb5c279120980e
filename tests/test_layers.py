"""The package's import layering (docs/architecture.md): imports only go downward."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "simdyn"

#: module prefix -> layer; a module may import simdyn modules of a lower layer, or of its own
#: package. Half layers order modules that share a layer in docs/architecture.md.
LAYERS = {
    "simdyn.errors": 0,
    "simdyn._types": 0,
    "simdyn._rng": 0,
    "simdyn._files": 0.25,
    "simdyn._pcg64": 0.25,
    "simdyn._lazy": 0,
    "simdyn._limits": 0.25,
    "simdyn._toml": 0.5,
    "simdyn.expr": 1,
    "simdyn.integrate": 1,
    "simdyn.network": 1,
    "simdyn.model": 2,
    "simdyn.results": 2.5,
    "simdyn.simulate": 3,
    "simdyn.scenario": 4,
    "simdyn.analysis": 4,
    "simdyn.io": 5,
    "simdyn.model_run": 5.25,
    "simdyn.plot": 5,
    "simdyn.loop_plots": 5,
    "simdyn.report": 5.5,
    "simdyn.sweep": 5.5,
    "simdyn.cli": 6,
}


def layer_of(module: str) -> tuple[str, float] | None:
    best = None
    for prefix, layer in LAYERS.items():
        if (module == prefix or module.startswith(prefix + ".")) and (
            best is None or len(prefix) > len(best[0])
        ):
            best = (prefix, layer)
    return best


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "simdyn":
                found += [(f"simdyn.{a.name}", node.lineno) for a in node.names]
            else:
                found.append((node.module, node.lineno))
    return [(m, ln) for m, ln in found if m == "simdyn" or m.startswith("simdyn.")]


SOURCES = sorted(p for p in ROOT.rglob("*.py") if p.name != "__init__.py" or p.parent != ROOT)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_go_downward(path: Path) -> None:
    me = layer_of(module_name(path))
    assert me is not None, f"{module_name(path)} has no layer in tests/test_layers.py"
    my_prefix, my_layer = me
    for mod, line in imported_modules(path):
        if mod == "simdyn":
            continue  # the version string and the public namespace
        other = layer_of(mod)
        if other is None:
            continue  # simdyn.models (data) and the like
        prefix, layer = other
        assert layer < my_layer or prefix == my_prefix, (
            f"{path.relative_to(ROOT)}:{line} imports {mod} (layer {layer}) from layer {my_layer}"
        )


def test_every_module_has_a_layer() -> None:
    missing = [module_name(p) for p in SOURCES if layer_of(module_name(p)) is None]
    assert not missing


#: inside simdyn.model the compiler reads as a pipeline: what it hands on never imports what
#: reads it (docs/architecture.md, "The compiler").
COMPILER = {
    "simdyn.model.compiled": 0,
    "simdyn.model.ir": 1,
    "simdyn.model.emit": 2,
    "simdyn.model.passes": 3,
    "simdyn.model.compile": 4,
}


def _compiler_stage(module: str) -> tuple[str, int] | None:
    for prefix, stage in COMPILER.items():
        if module == prefix or module.startswith(prefix + "."):
            return prefix, stage
    return None


@pytest.mark.parametrize(
    "path",
    [p for p in SOURCES if _compiler_stage(module_name(p)) is not None],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_compiler_stages_import_only_earlier_stages(path: Path) -> None:
    me = _compiler_stage(module_name(path))
    assert me is not None
    for mod, line in imported_modules(path):
        other = _compiler_stage(mod)
        if other is not None:
            assert other[1] < me[1] or other[0] == me[0], (
                f"{path.relative_to(ROOT)}:{line} imports {mod} (a later compiler stage)"
            )
