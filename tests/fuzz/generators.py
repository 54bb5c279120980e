"""Grammar-based generators of hostile input: equations, model, scenario and graph files, CLI
arguments. Each takes a seeded :class:`random.Random`, so a failing case can be replayed."""

from __future__ import annotations

import random
from collections.abc import Callable

NUMBERS = ["0", "1", "-1", "2.5", "1e308", "-1e308", "1e-300", "1e400", "0.0", "3", "1e5"]
TIMES = [*NUMBERS[:-1], "1e3", "1e9"]
"""Numbers for [time]: huge, tiny and bad ones, and run lengths that are either refused at once
(1e9 steps is over the step limit) or done in seconds (1e3 steps); a legitimate 1e5-step run
with its report takes about a minute on a loaded 2-core machine, which is no hang."""
NAMES = ["a", "s", "g", "TIME", "DT", "f", "zz"]
FUNCS1 = ["LN", "EXP", "SQRT", "ARCCOS", "ARCSIN", "ABS", "INT", "LOG10", "TAN"]
FUNCS = ["MIN", "MAX", "MOD", "SAFEDIV", "STEP", "PULSE", "RAMP", "SMTH1", "DELAY1", "DELAYN"]
OPS = ["+", "-", "*", "/", "^", "<", ">=", "=", "AND", "OR"]
JUNK = ["(", ")", "[", "]", ",", "$", "\\x00", "'", '"', "{", "IF", "THEN", "ELSE", "\u00e9"]


ARITY = {"MIN": (2, 2), "MAX": (2, 2), "MOD": (2, 2), "SAFEDIV": (2, 3), "STEP": (2, 2)}
ARITY |= {"PULSE": (2, 3), "RAMP": (2, 3), "SMTH1": (2, 3), "DELAY1": (2, 3), "DELAYN": (3, 4)}
UNITS = ["people", "people/month", "dmnl", "month"]


def well_formed(rng: random.Random, depth: int = 0, names: tuple[str, ...] = ("a",)) -> str:
    """A random equation that parses, with the right number of arguments per call (its values
    may still overflow, divide by zero or leave a function's domain) over ``names``."""
    roll = rng.random()
    if depth > 3 or roll < 0.3:
        return rng.choice([n for n in NUMBERS if n != "1e400"] + ["TIME", "DT", *names])
    if roll < 0.55:
        return f"({well_formed(rng, depth + 1, names)}) {rng.choice(OPS)} ({well_formed(rng, depth + 1, names)})"
    if roll < 0.7:
        return f"{rng.choice(FUNCS1)}({well_formed(rng, depth + 1, names)})"
    if roll < 0.9:
        func = rng.choice(FUNCS)
        args = [well_formed(rng, depth + 1, names) for _ in range(rng.randint(*ARITY[func]))]
        if func == "DELAYN":
            args[2] = rng.choice(["1", "3", "1", "2.5", "0"])  # its order: a whole number
        return f"{func}({', '.join(args)})"
    parts = (well_formed(rng, depth + 1, names) for _ in range(3))
    return "IF {} THEN {} ELSE {}".format(*parts)


def equation(rng: random.Random, depth: int = 0) -> str:
    """A random equation over the names of :data:`MODEL`, sometimes broken on purpose."""
    roll = rng.random()
    if depth > 3 or roll < 0.25:
        return rng.choice(NUMBERS + NAMES)
    if roll < 0.45:
        return f"{equation(rng, depth + 1)} {rng.choice(OPS)} {equation(rng, depth + 1)}"
    if roll < 0.6:
        return f"{rng.choice(FUNCS1)}({equation(rng, depth + 1)})"
    if roll < 0.75:
        n = rng.randint(1, 4)
        return f"{rng.choice(FUNCS)}({', '.join(equation(rng, depth + 1) for _ in range(n))})"
    if roll < 0.85:
        return f"IF {equation(rng, depth + 1)} THEN {equation(rng, depth + 1)} ELSE {equation(rng, depth + 1)}"
    if roll < 0.92:
        return f"{rng.choice(NAMES)}[{rng.choice(['x', 'training', '*', '1'])}]"
    text = equation(rng, depth + 1)
    k = rng.randint(0, len(text))
    return text[:k] + rng.choice(JUNK) + text[k:]


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\x00", "\\u0000") + '"'


def model_file(rng: random.Random) -> str:
    """A small model file with random equations, values, units and [time] numbers; half of them
    well formed (:func:`well_formed` equations, valid units), so they run to plots and a report."""
    if rng.random() < 0.5:
        return _model_text(
            rng, lambda r, names: well_formed(r, 0, names), rng.choice(UNITS), damage=False
        )
    units = rng.choice(["people", "$\\sqrt{$", "=1+1", "", "month$"])
    return _model_text(rng, lambda r, _: equation(r), units, damage=True)


def _model_text(
    rng: random.Random,
    make: Callable[[random.Random, tuple[str, ...]], str],
    units: str,
    *,
    damage: bool,
) -> str:
    time_keys = {"start": "0", "stop": "10", "dt": "1"}
    if rng.random() < (0.3 if damage else 0.1):
        time_keys[rng.choice(["start", "stop", "dt", "save_per"])] = rng.choice(TIMES)
    values = [*NUMBERS[:6], "nan", "inf"] if damage else ["0", "1", "-1", "2.5", "1e307"]
    lines = [
        "[model]",
        'name = "fz"',
        f"time_units = {_toml_string(rng.choice(['month', '$x$', 'y']))}",
        "[time]",
        *(f"{k} = {v}" for k, v in time_keys.items()),
        "[constants.a]",
        f"value = {rng.choice(values)}",
        "[stocks.s]",
        f"initial = {_toml_string(make(rng, ('a',)))}",
        'inflows = ["f"]',
        "[flows.f]",
        f"equation = {_toml_string(make(rng, ('a', 's', 'g')))}",
        f"units = {_toml_string(units)}",
        "[auxiliaries.g]",
        f"equation = {_toml_string(make(rng, ('a', 's')))}",
    ]
    if damage and rng.random() < 0.1:
        lines.insert(0, rng.choice(["auxiliaries = 1.5", "extends = 3", 'remove = ["x"]']))
    text = "\n".join(lines) + "\n"
    if damage and rng.random() < 0.15:  # byte-level damage
        k = rng.randint(0, len(text))
        text = text[:k] + rng.choice(["[", "=", '"', "\n[[", "\x00", "]]"]) + text[k + 1 :]
    return text


def scenario_file(rng: random.Random, model: str) -> str:
    """A scenario over ``model`` with random [time], params, variants and policies."""
    lines = [f"model = {_toml_string(model)}"]
    if rng.random() < 0.2:
        target = rng.choice(["x" * 300, "a\x00b", "", ".", "none.toml"])
        lines.append(f"extends = {_toml_string(target)}")
    if rng.random() < 0.5:
        key = rng.choice(["stop", "dt", "save_per", "method", "start"])
        value = rng.choice([*TIMES, '"RK45"', '"LSODA"', '"bogus"'])
        lines += ["[time]", f"{key} = {value}"]
    if rng.random() < 0.5:
        lines += [
            "[params]",
            f"{rng.choice(['a', 'zz', 'a[x]'])} = {rng.choice([*NUMBERS, 'nan', '[1, 2]'])}",
        ]
    for _ in range(rng.randint(0, 2)):
        name = rng.choice(["=cmd|'/c calc'!A1", "$\\sqrt{$", "ok", "@SUM(1)", "+1", "v"])
        lines += [f"[variants.{_toml_string(name)}]", f"params.a = {rng.choice(NUMBERS[:5])}"]
    return "\n".join(lines) + "\n"


def graphml_file(rng: random.Random) -> str:
    """A small GraphML file, often broken: undeclared nodes, missing ids, no nodes, junk."""
    nodes = [f'<node id="{k}"/>' for k in range(rng.randint(0, 4))]
    if rng.random() < 0.3:
        nodes.append("<node/>")
    edges = [
        f'<edge source="{rng.randint(0, 5)}" target="{rng.randint(0, 5)}"/>'
        for _ in range(rng.randint(0, 5))
    ]
    body = "\n".join(nodes + edges)
    if rng.random() < 0.2:
        body += rng.choice(["<edge/>", "<node id=", "&ent;", "<!DOCTYPE x [<!ENTITY e 'x'>]>"])
    return (
        '<?xml version="1.0"?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n'
        f'<graph edgedefault="{rng.choice(["undirected", "undirected", "directed"])}">\n'
        f"{body}\n</graph>\n</graphml>\n"
    )


def cli_args(rng: random.Random) -> list[str]:
    """Random arguments for ``simdyn run`` inside a sandbox holding ``s.toml`` and ``m.toml``."""
    out = rng.choice(
        [".", "", "..", "s.toml", "/dev/null", "out", "sub/out", "link", "fifo", "m.toml"]
    )
    args = ["run", "s.toml", "--out", out, "-q"]
    if rng.random() < 0.4:
        args += [
            "--set",
            rng.choice(["stop=1e308", "dt=0", "a=nan", "method=RK45", "x", "=", "a=[1,2,3]"]),
        ]
    if rng.random() < 0.2:
        args += ["--max-memory", rng.choice(["1K", "0", "lots", "1e400", "4G"])]
    if rng.random() < 0.1:
        args += ["--method", rng.choice(["rk4", "LSODA", "nope"])]
    return args
