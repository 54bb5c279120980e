"""The :class:`Model` users hold: a spec, its documentation tables, and cached compilations."""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simdyn.errors import ModelError, ScenarioError, SimdynError
from simdyn.model.compile import CompiledModel, compile_model, to_ir
from simdyn.model.loader import (
    MODELS_DIR,
    NODE_DIM,
    did_you_mean,
    spec_from_dict,
    spec_from_file,
)
from simdyn.model.spec import (
    Auxiliary,
    Constant,
    Equation,
    Flow,
    Lookup,
    ModelSpec,
    Preset,
    Stock,
    TimeSpec,
)
from simdyn.model.units import UnitIssue, check_units
from simdyn.model.xmile_xml import XMILE_SUFFIXES

if TYPE_CHECKING:
    import networkx as nx
    import pandas as pd
    import xarray as xr

    from simdyn.model.emit.numba import CompiledKernel
    from simdyn.model.loops import Loop

__all__ = ["Model", "list_models", "load_model", "model_from_dict"]


class Model:
    """A system-dynamics model: what it contains and how to run it.

    Build one with :func:`load_model` or :func:`model_from_dict`; run it with
    :func:`simdyn.simulate`.
    """

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self._compiled: dict[tuple[Any, ...] | None, CompiledModel] = {}
        self._units: list[UnitIssue] | None = None
        self._kernels: dict[tuple[Any, ...] | None, CompiledKernel] = {}

    def __repr__(self) -> str:
        s = self.spec
        return (
            f"<Model {s.name!r}: {len(s.stocks)} stocks, {len(s.flows)} flows, "
            f"{len(s.auxiliaries)} auxiliaries, {len(s.constants)} constants>"
        )

    # -- contents ---------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The model's name."""
        return self.spec.name

    @property
    def time_units(self) -> str:
        """The unit of ``TIME``."""
        return self.spec.time_units

    @property
    def time(self) -> TimeSpec:
        """Default time settings (start, stop, dt, save_per, method)."""
        return self.spec.time

    @property
    def doc(self) -> str:
        """What the model is for."""
        return self.spec.doc

    @property
    def key_outputs(self) -> tuple[str, ...]:
        """Variables reports show first (all stocks when the model names none)."""
        return self.spec.key_outputs or tuple(self.spec.stocks)

    @property
    def constants(self) -> Mapping[str, Constant]:
        """Constants (parameters) with default values, units, bounds and docs."""
        return self.spec.constants

    @property
    def stocks(self) -> Mapping[str, Stock]:
        """Stocks by name."""
        return self.spec.stocks

    @property
    def flows(self) -> Mapping[str, Flow]:
        """Flows by name."""
        return self.spec.flows

    @property
    def auxiliaries(self) -> Mapping[str, Auxiliary]:
        """Auxiliaries by name."""
        return self.spec.auxiliaries

    @property
    def lookups(self) -> Mapping[str, Lookup]:
        """Graphical functions by name."""
        return self.spec.lookups

    @property
    def dimensions(self) -> Mapping[str, tuple[str, ...]]:
        """Declared dimensions and their elements (``node`` comes from the network)."""
        return self.spec.dimensions

    @property
    def presets(self) -> Mapping[str, Mapping[str, Preset]]:
        """Preset groups (for example ``style``) and their named parameter sets."""
        return self.spec.presets

    @cached_property
    def uses_network(self) -> bool:
        """Whether the model has per-person values (the ``node`` dimension) and needs a network."""
        spec = self.spec
        tables = (spec.constants, spec.stocks, spec.flows, spec.auxiliaries, spec.events)
        return any(NODE_DIM in v.dims for table in tables for v in table.values())

    @cached_property
    def variables(self) -> tuple[str, ...]:
        """Names of every stock, flow and auxiliary a run can save."""
        return (*self.spec.stocks, *self.spec.flows, *self.spec.auxiliaries)

    def describe(self) -> pd.DataFrame:
        """One row per variable: kind, units, dims, value or equation, doc, source."""
        import pandas as pd

        rows: list[dict[str, Any]] = []
        for kind, table in (
            ("constant", self.spec.constants),
            ("stock", self.spec.stocks),
            ("flow", self.spec.flows),
            ("auxiliary", self.spec.auxiliaries),
        ):
            for name, v in table.items():
                if isinstance(v, Constant):
                    definition: Any = v.value
                elif isinstance(v, Stock):
                    definition = v.initial
                else:
                    definition = v.equation
                rows.append(
                    {
                        "name": name,
                        "kind": kind,
                        "units": v.units,
                        "dims": ", ".join(v.dims),
                        "definition": definition,
                        "doc": v.doc,
                        "source": v.source,
                    }
                )
        return pd.DataFrame(rows).set_index("name")

    # -- variants ---------------------------------------------------------------------------
    def replace(
        self,
        *,
        equations: Mapping[str, Equation] | None = None,
        constants: Mapping[str, Any] | None = None,
        add_constants: Sequence[Constant] = (),
    ) -> Model:
        """A new model with some definitions changed.

        Parameters
        ----------
        equations
            New equations for constants (which become auxiliaries, e.g. a time schedule), for
            auxiliaries or for flows; a dimensioned variable also takes one equation per element.
        constants
            New default values for constants.
        add_constants
            Constants the model does not have yet (for example the parameters of a policy's
            schedule, so that a batch can vary them); a name already in use is an error.

        Examples
        --------
        >>> m = load_model("teacup")
        >>> hot = m.replace(equations={"room_temperature": "70 + STEP(10, 5)"})
        >>> "room_temperature" in hot.auxiliaries
        True
        """
        spec = self.spec
        consts = dict(spec.constants)
        auxes = dict(spec.auxiliaries)
        flows = dict(spec.flows)
        for const in add_constants:
            if const.name in consts or const.name in auxes or const.name in flows:
                raise ModelError(
                    f"{const.name!r} is already defined in {spec.name!r}",
                    where=f"constants.{const.name}",
                )
            if const.name in spec.stocks:
                raise ModelError(f"{const.name!r} is a stock of {spec.name!r}", where=const.name)
            consts[const.name] = const
        for name, value in (constants or {}).items():
            if name not in consts:
                raise ModelError(
                    f"{name!r} is not a constant of {spec.name!r}",
                    where=f"constants.{name}",
                    hint=did_you_mean(name, consts),
                )
            consts[name] = dataclasses.replace(consts[name], value=value)
        for name, eq in (equations or {}).items():
            if name in consts:
                c = consts.pop(name)
                auxes[name] = Auxiliary(name, eq, c.dims, c.units, c.doc, c.source)
            elif name in auxes:
                auxes[name] = dataclasses.replace(auxes[name], equation=eq)
            elif name in flows:
                flows[name] = dataclasses.replace(flows[name], equation=eq)
            else:
                raise ModelError(
                    f"{name!r} is not a constant, auxiliary or flow of {spec.name!r}",
                    where=f"equations.{name}",
                    hint=did_you_mean(name, [*consts, *auxes, *flows]),
                )
        presets = {
            g: {
                n: dataclasses.replace(p, values={k: v for k, v in p.values.items() if k in consts})
                for n, p in alts.items()
            }
            for g, alts in spec.presets.items()
        }
        python = dict(spec.python)
        python.update(dict.fromkeys(equations or {}, "Model.replace(equations=...)"))
        return Model(
            dataclasses.replace(
                spec,
                constants=consts,
                auxiliaries=auxes,
                flows=flows,
                presets=presets,
                python=python,
            )
        )

    # -- export -----------------------------------------------------------------------------
    def to_xmile(
        self,
        path: str | Path,
        presets: Mapping[str, str] | None = None,
        dialect: str = "xmile",
    ) -> Path:
        """Write the model as an XMILE 1.0 file (Stella, PySD); see ``docs/xmile.md``.

        Parameters
        ----------
        path
            The file to write (replaced atomically).
        presets
            One preset per group (``{"style": "facilitative"}``) whose values the constants
            take; by default constants keep their default values.
        dialect
            ``"xmile"`` (Stella: reductions as ``SUM(x[*])``) or ``"pysd"`` (``SUM(x[dim!])``,
            the form PySD 3.14 reads).
        """
        from simdyn.model.xmile_write import write_xmile

        return write_xmile(self.spec, path, presets, dialect)

    # -- structure --------------------------------------------------------------------------
    def graph(self, run: xr.Dataset | None = None, *, constants: bool = False) -> nx.DiGraph[str]:
        """The causal graph: variables as nodes, links with their polarity.

        Polarities come from the equations' syntax trees; links the structure leaves open get
        the sign of their partial derivative along ``run`` (default: a run of the model's
        defaults). See docs/loops.md.

        Examples
        --------
        >>> g = load_model("teacup").graph()
        >>> g.edges["teacup_temperature", "heat_loss_to_room"]["polarity"]
        1
        """
        from simdyn.model.structure import model_graph

        return model_graph(self.compile(), run, constants=constants)

    def loops(
        self, run: xr.Dataset | None = None, *, max_loops: int = 1000, max_length: int | None = None
    ) -> list[Loop]:
        """The feedback loops, named ones first by name, the others as ``R1``, ``B2``, ….

        At most ``max_loops`` are enumerated; a model with more gets its shortest loops (and its
        named ones). See docs/loops.md.

        Examples
        --------
        >>> [(lp.id, lp.polarity) for lp in load_model("teacup").loops()]
        [('B1', 'B')]
        """
        from simdyn.model.structure import model_loops

        return model_loops(self.compile(), run, max_loops=max_loops, max_length=max_length)[0]

    # -- compilation ------------------------------------------------------------------------
    def check(self, *, strict_units: bool = False) -> list[UnitIssue]:
        """Compile the model to check its equations, dimensions, dependency order and named loops;
        check units.

        A model with per-person variables is compiled for a two-node placeholder graph.

        Parameters
        ----------
        strict_units
            Raise on the first unit inconsistency instead of returning it.

        Returns
        -------
        list of UnitIssue
            The unit inconsistencies (see :mod:`simdyn.model.units`), each located at
            ``file:line``; empty for a unit-clean model.

        Raises
        ------
        SimdynError
            The first problem found, located at ``file:line``.
        """
        self.compile(("placeholder_1", "placeholder_2") if self.uses_network else None)
        if self.spec.loops:  # named loops must be cycles of the causal graph
            from simdyn.model.causal import causal_graph
            from simdyn.model.loops import make_loops

            make_loops(causal_graph(self.spec), [], self.spec)
        issues = self.unit_issues()
        if strict_units and issues:
            raise issues[0].error()
        return issues

    def unit_issues(self) -> list[UnitIssue]:
        """Every unit inconsistency of the model's equations (cached)."""
        if self._units is None:
            self._units = check_units(self.spec)
        return list(self._units)

    def kernel(self, nodelist: Sequence[Any] | None = None) -> CompiledKernel:
        """The compiled (numba) kernel for a given node list (cached; needs ``simdyn[fast]``).

        Raises
        ------
        ScenarioError
            When numba is not installed, or the model uses something the compiled backend
            does not run (the message names it).
        """
        key = tuple(nodelist) if nodelist is not None else None
        kernel = self._kernels.get(key)
        if kernel is None:
            if importlib.util.find_spec("numba") is None:
                raise ScenarioError(
                    "the compiled backend needs numba, which is not installed",
                    where="backend",
                    hint="pip install 'simdyn[fast]', or use backend=\"numpy\"",
                )
            from simdyn.model.emit.numba import compile_kernel

            kernel = compile_kernel(to_ir(self.spec, nodelist=nodelist))
            self._kernels[key] = kernel
        return kernel

    def compile(self, nodelist: Sequence[Any] | None = None) -> CompiledModel:
        """The compiled form for a given node list (cached)."""
        key = tuple(nodelist) if nodelist is not None else None
        cm = self._compiled.get(key)
        if cm is None:
            try:
                cm = compile_model(self.spec, nodelist=nodelist)
            except SimdynError as exc:
                raise python_located(self.spec, exc) from None
            self._compiled[key] = cm
        return cm


def python_located(spec: ModelSpec, exc: SimdynError) -> SimdynError:
    """``exc`` pointing at the Python call that defined the variable, not at a file line."""
    parts = (exc.where or "").split(".")
    name = parts[1] if len(parts) > 1 else ""
    origin = spec.python.get(name) or spec.python.get("*")
    if origin is None:
        return exc
    return type(exc)(exc.what, file=origin, where=exc.where, column=exc.column, hint=exc.hint)


def list_models() -> list[str]:
    """Names of the built-in models.

    Examples
    --------
    >>> "teacup" in list_models()
    True
    """
    return sorted(p.stem for p in MODELS_DIR.glob("*.toml"))


def load_model(name_or_path: str | Path) -> Model:
    """Load a built-in model by name, or a model file by path (TOML, or XMILE: ``.xmile``,
    ``.stmx``, ``.xml``, ``.itmx``).

    Examples
    --------
    >>> load_model("teacup").constants["characteristic_time"].value
    10.0
    """
    if isinstance(name_or_path, Model):
        return name_or_path
    text = str(name_or_path)
    path = Path(text)
    if path.suffix == "" and "/" not in text and "\\" not in text:
        builtin = MODELS_DIR / f"{text}.toml"
        if builtin.is_file():
            return Model(spec_from_file(builtin))
        raise ModelError(
            f"no built-in model named {text!r}",
            hint=did_you_mean(text, list_models())
            or f"built-in models: {', '.join(list_models())}",
        )
    if path.suffix.lower() in XMILE_SUFFIXES:
        from simdyn.model.xmile import spec_from_xmile

        return Model(spec_from_xmile(path))
    return Model(spec_from_file(path))


def model_from_dict(data: Mapping[str, Any], *, source: str | None = None) -> Model:
    """Build a model in Python from the same structure as a model file.

    ``[model] extends`` names a built-in model (or a model file, relative to ``source``'s
    folder or the working directory); the entries given replace the base's.
    """
    spec = spec_from_dict(data, source=source)
    if source is None:
        spec = dataclasses.replace(spec, python={"*": "model_from_dict"})
    return Model(spec)
