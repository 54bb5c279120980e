"""Grammar-based generators of hostile input: equations, model, scenario and graph files, CLI
arguments. Each takes a seeded :class:`random.Random`, so a failing case can be replayed."""

from __future__ import annotations

import random

NUMBERS = ["0", "1", "-1", "2.5", "1e308", "-1e308", "1e-300", "1e400", "0.0", "3", "1e5"]
NAMES = ["a", "s", "g", "TIME", "DT", "f", "zz"]
FUNCS1 = ["LN", "EXP", "SQRT", "ARCCOS", "ARCSIN", "ABS", "INT", "LOG10", "TAN"]
FUNCS = ["MIN", "MAX", "MOD", "SAFEDIV", "STEP", "PULSE", "RAMP", "SMTH1", "DELAY1", "DELAYN"]
OPS = ["+", "-", "*", "/", "^", "<", ">=", "=", "AND", "OR"]
JUNK = ["(", ")", "[", "]", ",", "$", "\\x00", "'", '"', "{", "IF", "THEN", "ELSE", "\u00e9"]


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
    """A small model file with random equations, values, units and [time] numbers."""
    time_keys = {"start": "0", "stop": "10", "dt": "1"}
    if rng.random() < 0.3:
        time_keys[rng.choice(["start", "stop", "dt", "save_per"])] = rng.choice(NUMBERS)
    units = rng.choice(["people", "$\\sqrt{$", "=1+1", "", "month$"])
    lines = [
        "[model]",
        'name = "fz"',
        f"time_units = {_toml_string(rng.choice(['month', '$x$', 'y']))}",
        "[time]",
        *(f"{k} = {v}" for k, v in time_keys.items()),
        "[constants.a]",
        f"value = {rng.choice([*NUMBERS[:6], 'nan', 'inf'])}",
        "[stocks.s]",
        f"initial = {_toml_string(equation(rng))}",
        'inflows = ["f"]',
        "[flows.f]",
        f"equation = {_toml_string(equation(rng))}",
        f"units = {_toml_string(units)}",
        "[auxiliaries.g]",
        f"equation = {_toml_string(equation(rng))}",
    ]
    if rng.random() < 0.1:
        lines.insert(0, rng.choice(["auxiliaries = 1.5", "extends = 3", 'remove = ["x"]']))
    text = "\n".join(lines) + "\n"
    if rng.random() < 0.15:  # byte-level damage
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
        value = rng.choice([*NUMBERS, '"RK45"', '"LSODA"', '"bogus"'])
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
