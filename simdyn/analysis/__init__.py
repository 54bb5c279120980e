"""Analysis of runs: feedback-loop dominance (Loops that Matter) across a batch of scenarios."""

from simdyn.analysis.dominance import link_scores, loop_dominance
from simdyn.analysis.phases import (
    dominance_phases,
    dominance_share,
    dominance_shift_time,
    dominant_at,
    loop_pair_share,
    stock_relative_scores,
)
from simdyn.analysis.summary import loop_frame, loop_table_markdown, loops_report

__all__ = [
    "dominance_phases",
    "dominance_share",
    "dominance_shift_time",
    "dominant_at",
    "link_scores",
    "loop_dominance",
    "loop_frame",
    "loop_pair_share",
    "loop_table_markdown",
    "loops_report",
    "stock_relative_scores",
]
