"""A small model and scenario shared by the scenario and CLI tests."""

from __future__ import annotations

from pathlib import Path

MINI_MODEL = Path(__file__).parent / "scenario" / "data" / "mini_org.toml"

MINI_SCENARIO = f"""\
title = "Mini plan"
model = "{MINI_MODEL}"
seed = 3
style = "directive"

[time]
stop = 12
dt = 0.25
method = "euler"

[params]
demand = 1.1
"hours[workshop]" = 3

[policies.leadership]
kind = "style"
at = 3
to = "facilitative"
transition = 3

[policies.programme]
kind = "piecewise"
param = "hours[training]"
points = [[0, 2], [3, 2], [6, 6]]

[policies.freeze]
kind = "step"
param = "hiring_rate"
at = 2
to = 0
until = 5

[goals.y1]
variable = "engagement"
time = 12
value = 0.3
label = "Engagement at least 0.3"

[variants.facil]
style = "facilitative"
"""
