"""
Python model 'sir.py'
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
    "final_time": lambda: 100,
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


@component.add(name="FINAL TIME", units="day", comp_type="Constant", comp_subtype="Normal")
def final_time():
    return __data["time"].final_time()


@component.add(name="INITIAL TIME", units="day", comp_type="Constant", comp_subtype="Normal")
def initial_time():
    return __data["time"].initial_time()


@component.add(name="SAVEPER", units="day", comp_type="Constant", comp_subtype="Normal")
def saveper():
    return __data["time"].saveper()


@component.add(name="TIME STEP", units="day", comp_type="Constant", comp_subtype="Normal")
def time_step():
    return __data["time"].time_step()


#######################################################################
#                           MODEL VARIABLES                           #
#######################################################################


@component.add(
    name="susceptible",
    comp_type="Stateful",
    comp_subtype="Integ",
    depends_on={"_integ_susceptible": 1},
    other_deps={
        "_integ_susceptible": {
            "initial": {"population": 1, "initial_infected": 1},
            "step": {"infection": 1},
        }
    },
)
def susceptible():
    return _integ_susceptible()


_integ_susceptible = Integ(
    lambda: -infection(),
    lambda: population() - initial_infected(),
    "_integ_susceptible",
)


@component.add(
    name="infected",
    comp_type="Stateful",
    comp_subtype="Integ",
    depends_on={"_integ_infected": 1},
    other_deps={
        "_integ_infected": {
            "initial": {"initial_infected": 1},
            "step": {"infection": 1, "recovery": 1},
        }
    },
)
def infected():
    return _integ_infected()


_integ_infected = Integ(
    lambda: infection() - recovery(), lambda: initial_infected(), "_integ_infected"
)


@component.add(
    name="recovered",
    comp_type="Stateful",
    comp_subtype="Integ",
    depends_on={"_integ_recovered": 1},
    other_deps={"_integ_recovered": {"initial": {}, "step": {"recovery": 1}}},
)
def recovered():
    return _integ_recovered()


_integ_recovered = Integ(lambda: recovery(), lambda: 0, "_integ_recovered")


@component.add(
    name="infection",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"contact_rate": 1, "susceptible": 1, "infected": 1, "population": 1},
)
def infection():
    return contact_rate() * susceptible() * infected() / population()


@component.add(
    name="recovery",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"infected": 1, "recovery_time": 1},
)
def recovery():
    return infected() / recovery_time()


@component.add(name="population", comp_type="Constant", comp_subtype="Normal")
def population():
    return 1000


@component.add(name="initial_infected", comp_type="Constant", comp_subtype="Normal")
def initial_infected():
    return 1


@component.add(name="contact_rate", comp_type="Constant", comp_subtype="Normal")
def contact_rate():
    return 0.5


@component.add(name="recovery_time", comp_type="Constant", comp_subtype="Normal")
def recovery_time():
    return 5
