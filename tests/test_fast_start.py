"""``import simdyn`` and the CLI's ``--help``/``--version`` import no heavy library."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("matplotlib", "netCDF4", "networkx", "scipy", "xarray", "pandas", "numpy")


def loaded_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    mods = json.loads(out.splitlines()[-1])
    return [h for h in HEAVY if h in mods]


@pytest.mark.parametrize(
    "code",
    [
        "import simdyn",
        "import simdyn; simdyn.__version__",
        "import simdyn.cli",
        "import sys; sys.argv = ['simdyn', '--help']\nfrom simdyn.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass",
    ],
    ids=["import", "version", "cli", "help"],
)
def test_starting_imports_no_heavy_library(code: str) -> None:
    assert loaded_after(code) == []


def test_loading_and_running_a_model_imports_neither_scipy_nor_plotting() -> None:
    code = "import simdyn\nsimdyn.simulate('teacup', method='euler')"
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    mods = set(json.loads(out.stdout.splitlines()[-1]))
    loaded = [h for h in HEAVY if h in mods]
    # xarray probes optional duck-array libraries (pydata sparse, dask) when they are
    # installed, and those import scipy; simdyn's own uses of scipy are its solvers
    assert "scipy.integrate" not in mods
    if not {"sparse", "dask"} & mods:
        assert "scipy" not in loaded
    assert "matplotlib" not in loaded
    assert "netCDF4" not in loaded


def test_lazy_names_resolve() -> None:
    import simdyn
    import simdyn.simulate as module_or_function

    assert callable(simdyn.simulate)
    assert module_or_function is simdyn.simulate  # the function, as before
    assert simdyn.TimeGrid.__module__ == "simdyn.model.timegrid"
    assert set(simdyn.__all__) <= set(dir(simdyn))
    with pytest.raises(AttributeError):
        _ = simdyn.no_such_name  # type: ignore[attr-defined]
