"""
Python model 'teacup.py'
Translated using PySD
"""

from pathlib import Path

from pysd.py_backend.statefuls import Integ
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
    "final_time": lambda: 30,
    "time_step": lambda: 0.125,
    "saveper": lambda: 0.125,
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


@component.add(name="FINAL TIME", units="minute", comp_type="Constant", comp_subtype="Normal")
def final_time():
    return __data["time"].final_time()


@component.add(name="INITIAL TIME", units="minute", comp_type="Constant", comp_subtype="Normal")
def initial_time():
    return __data["time"].initial_time()


@component.add(name="SAVEPER", units="minute", comp_type="Constant", comp_subtype="Normal")
def saveper():
    return __data["time"].saveper()


@component.add(name="TIME STEP", units="minute", comp_type="Constant", comp_subtype="Normal")
def time_step():
    return __data["time"].time_step()


#######################################################################
#                           MODEL VARIABLES                           #
#######################################################################


@component.add(
    name="teacup_temperature",
    units="degF",
    comp_type="Stateful",
    comp_subtype="Integ",
    depends_on={"_integ_teacup_temperature": 1},
    other_deps={"_integ_teacup_temperature": {"initial": {}, "step": {"heat_loss_to_room": 1}}},
)
def teacup_temperature():
    return _integ_teacup_temperature()


_integ_teacup_temperature = Integ(
    lambda: -heat_loss_to_room(), lambda: 180, "_integ_teacup_temperature"
)


@component.add(
    name="heat_loss_to_room",
    units="degF/minute",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={
        "teacup_temperature": 1,
        "room_temperature": 1,
        "characteristic_time": 1,
    },
)
def heat_loss_to_room():
    return (teacup_temperature() - room_temperature()) / characteristic_time()


@component.add(name="room_temperature", units="degF", comp_type="Constant", comp_subtype="Normal")
def room_temperature():
    return 70


@component.add(
    name="characteristic_time",
    units="minute",
    comp_type="Constant",
    comp_subtype="Normal",
)
def characteristic_time():
    return 10
