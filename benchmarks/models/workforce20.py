"""
Python model 'workforce20.py'
Translated using PySD
"""

from pathlib import Path
import numpy as np

from pysd.py_backend.functions import step
from pysd.py_backend.statefuls import Smooth, Delay, Integ
from pysd.py_backend.lookups import HardcodedLookups
from pysd import Component

__pysd_version__ = "3.14.3"

__data = {"scope": None, "time": lambda: 0}

_root = Path(__file__).parent


component = Component()

#######################################################################
#                          CONTROL VARIABLES                          #
#######################################################################

_control_vars = {
    "initial_time": lambda: 0,
    "final_time": lambda: 60,
    "time_step": lambda: 0.125,
    "saveper": lambda: 1,
}


def _init_outer_references(data):
    for key in data:
        __data[key] = data[key]


@component.add(name="Time")
def time():
    """
    Current time of the model.
    """
    return __data["time"]()


@component.add(name="FINAL TIME", units="month", comp_type="Constant", comp_subtype="Normal")
def final_time():
    return __data["time"].final_time()


@component.add(name="INITIAL TIME", units="month", comp_type="Constant", comp_subtype="Normal")
def initial_time():
    return __data["time"].initial_time()


@component.add(name="SAVEPER", units="month", comp_type="Constant", comp_subtype="Normal")
def saveper():
    return __data["time"].saveper()


@component.add(name="TIME STEP", units="month", comp_type="Constant", comp_subtype="Normal")
def time_step():
    return __data["time"].time_step()


#######################################################################
#                           MODEL VARIABLES                           #
#######################################################################


@component.add(
    name="recruits",
    comp_type="Stateful",
    comp_subtype="Integ",
    depends_on={"_integ_recruits": 1},
    other_deps={
        "_integ_recruits": {
            "initial": {},
            "step": {"hires": 1, "training_completion": 1},
        }
    },
)
def recruits():
    return _integ_recruits()


_integ_recruits = Integ(lambda: hires() - training_completion(), lambda: 10, "_integ_recruits")


@component.add(
    name="juniors",
    comp_type="Stateful",
    comp_subtype="Integ",
    depends_on={"_integ_juniors": 1},
    other_deps={
        "_integ_juniors": {
            "initial": {},
            "step": {"training_completion": 1, "promotion": 1, "junior_quits": 1},
        }
    },
)
def juniors():
    return _integ_juniors()


_integ_juniors = Integ(
    lambda: training_completion() - promotion() - junior_quits(),
    lambda: 30,
    "_integ_juniors",
)


@component.add(
    name="seniors",
    comp_type="Stateful",
    comp_subtype="Integ",
    depends_on={"_integ_seniors": 1},
    other_deps={"_integ_seniors": {"initial": {}, "step": {"promotion": 1, "senior_quits": 1}}},
)
def seniors():
    return _integ_seniors()


_integ_seniors = Integ(lambda: promotion() - senior_quits(), lambda: 50, "_integ_seniors")


@component.add(
    name="backlog",
    comp_type="Stateful",
    comp_subtype="Integ",
    depends_on={"_integ_backlog": 1},
    other_deps={"_integ_backlog": {"initial": {}, "step": {"arrivals": 1, "completion": 1}}},
)
def backlog():
    return _integ_backlog()


_integ_backlog = Integ(lambda: arrivals() - completion(), lambda: 100, "_integ_backlog")


@component.add(
    name="delivered",
    comp_type="Stateful",
    comp_subtype="Integ",
    depends_on={"_integ_delivered": 1},
    other_deps={"_integ_delivered": {"initial": {}, "step": {"completion": 1}}},
)
def delivered():
    return _integ_delivered()


_integ_delivered = Integ(lambda: completion(), lambda: 0, "_integ_delivered")


@component.add(
    name="hires",
    comp_type="Stateful",
    comp_subtype="Delay",
    depends_on={"_delay_hires": 1},
    other_deps={
        "_delay_hires": {
            "initial": {"hiring_requests": 1, "hiring_delay": 1},
            "step": {"hiring_requests": 1, "hiring_delay": 1},
        }
    },
)
def hires():
    return _delay_hires()


_delay_hires = Delay(
    lambda: hiring_requests(),
    lambda: hiring_delay(),
    lambda: hiring_requests(),
    lambda: 3,
    time_step,
    "_delay_hires",
)


@component.add(
    name="training_completion",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"recruits": 1, "training_time": 1},
)
def training_completion():
    return recruits() / training_time()


@component.add(
    name="promotion",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"juniors": 1, "promotion_time": 1},
)
def promotion():
    return juniors() / promotion_time()


@component.add(
    name="junior_quits",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"juniors": 1, "quit_multiplier": 1, "junior_quit_time": 1},
)
def junior_quits():
    return juniors() * quit_multiplier() / junior_quit_time()


@component.add(
    name="senior_quits",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"seniors": 1, "quit_multiplier": 1, "senior_quit_time": 1},
)
def senior_quits():
    return seniors() * quit_multiplier() / senior_quit_time()


@component.add(
    name="arrivals",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"arrival_rate": 1, "arrival_step": 1, "time": 1, "step_time": 1},
)
def arrivals():
    return arrival_rate() + step(__data["time"], arrival_step(), step_time())


@component.add(
    name="completion",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"capacity": 1, "productivity_multiplier": 1, "backlog": 1},
)
def completion():
    return float(np.minimum(capacity() * productivity_multiplier(), backlog()))


@component.add(
    name="staff",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"recruits": 1, "juniors": 1, "seniors": 1},
)
def staff():
    return recruits() + juniors() + seniors()


@component.add(
    name="staff_gap",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"target_staff": 1, "staff": 1},
)
def staff_gap():
    return target_staff() - staff()


@component.add(
    name="replacement",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"junior_quits": 1, "senior_quits": 1},
)
def replacement():
    return junior_quits() + senior_quits()


@component.add(
    name="hiring_requests",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"staff_gap": 1, "hiring_adjustment_time": 1, "replacement": 1},
)
def hiring_requests():
    return float(np.maximum(staff_gap() / hiring_adjustment_time() + replacement(), 0))


@component.add(
    name="capacity",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={
        "recruits": 1,
        "recruit_productivity": 1,
        "juniors": 1,
        "junior_productivity": 1,
        "senior_productivity": 1,
        "seniors": 1,
    },
)
def capacity():
    return (
        recruits() * recruit_productivity()
        + juniors() * junior_productivity()
        + seniors() * senior_productivity()
    )


@component.add(
    name="pressure",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"backlog": 1, "capacity": 1},
)
def pressure():
    return backlog() / (capacity() + 1)


@component.add(
    name="perceived_pressure",
    comp_type="Stateful",
    comp_subtype="Smooth",
    depends_on={"_smooth_perceived_pressure": 1},
    other_deps={
        "_smooth_perceived_pressure": {
            "initial": {"pressure": 1},
            "step": {"pressure": 1, "perception_time": 1},
        }
    },
)
def perceived_pressure():
    return _smooth_perceived_pressure()


_smooth_perceived_pressure = Smooth(
    lambda: pressure(),
    lambda: perception_time(),
    lambda: pressure(),
    lambda: 1,
    "_smooth_perceived_pressure",
)


@component.add(
    name="quit_multiplier",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"perceived_pressure": 1, "quit_effect": 1},
)
def quit_multiplier():
    return quit_effect(perceived_pressure())


@component.add(
    name="productivity_multiplier",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"perceived_pressure": 1, "productivity_effect": 1},
)
def productivity_multiplier():
    return productivity_effect(perceived_pressure())


@component.add(
    name="utilisation",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"completion": 1, "capacity": 1},
)
def utilisation():
    return completion() / (capacity() + 1)


@component.add(
    name="quit_effect",
    comp_type="Lookup",
    comp_subtype="Normal",
    depends_on={"__lookup__": "_hardcodedlookup_quit_effect"},
)
def quit_effect(x, final_subs=None):
    return _hardcodedlookup_quit_effect(x, final_subs)


_hardcodedlookup_quit_effect = HardcodedLookups(
    [0.0, 1.0, 2.0, 3.0],
    [0.8, 1.0, 1.6, 2.5],
    {},
    "interpolate",
    {},
    "_hardcodedlookup_quit_effect",
)


@component.add(
    name="productivity_effect",
    comp_type="Lookup",
    comp_subtype="Normal",
    depends_on={"__lookup__": "_hardcodedlookup_productivity_effect"},
)
def productivity_effect(x, final_subs=None):
    return _hardcodedlookup_productivity_effect(x, final_subs)


_hardcodedlookup_productivity_effect = HardcodedLookups(
    [0.0, 0.5, 1.0, 2.0, 3.0],
    [0.7, 0.9, 1.0, 1.15, 1.2],
    {},
    "interpolate",
    {},
    "_hardcodedlookup_productivity_effect",
)


@component.add(name="target_staff", comp_type="Constant", comp_subtype="Normal")
def target_staff():
    return 100


@component.add(name="hiring_adjustment_time", comp_type="Constant", comp_subtype="Normal")
def hiring_adjustment_time():
    return 4


@component.add(name="hiring_delay", comp_type="Constant", comp_subtype="Normal")
def hiring_delay():
    return 3


@component.add(name="training_time", comp_type="Constant", comp_subtype="Normal")
def training_time():
    return 6


@component.add(name="promotion_time", comp_type="Constant", comp_subtype="Normal")
def promotion_time():
    return 18


@component.add(name="junior_quit_time", comp_type="Constant", comp_subtype="Normal")
def junior_quit_time():
    return 30


@component.add(name="senior_quit_time", comp_type="Constant", comp_subtype="Normal")
def senior_quit_time():
    return 60


@component.add(name="arrival_rate", comp_type="Constant", comp_subtype="Normal")
def arrival_rate():
    return 70


@component.add(name="arrival_step", comp_type="Constant", comp_subtype="Normal")
def arrival_step():
    return 20


@component.add(name="step_time", comp_type="Constant", comp_subtype="Normal")
def step_time():
    return 24


@component.add(name="recruit_productivity", comp_type="Constant", comp_subtype="Normal")
def recruit_productivity():
    return 0.2


@component.add(name="junior_productivity", comp_type="Constant", comp_subtype="Normal")
def junior_productivity():
    return 0.6


@component.add(name="senior_productivity", comp_type="Constant", comp_subtype="Normal")
def senior_productivity():
    return 1.0


@component.add(name="perception_time", comp_type="Constant", comp_subtype="Normal")
def perception_time():
    return 2
