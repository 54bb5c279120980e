"""The result schema (docs/api-contract.md), netCDF round trip, and the Model API."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st

import simdyn


def test_dataset_schema() -> None:
    ds = simdyn.simulate("sir", params={"contact_rate": [0.3, 0.5, 0.7]}, stop=10, method="rk4")
    assert set(ds.dims) == {"time", "scenario"}
    np.testing.assert_array_equal(ds.time.values, np.arange(11.0))
    np.testing.assert_array_equal(ds.scenario.values, [0, 1, 2])
    np.testing.assert_array_equal(ds.contact_rate.values, [0.3, 0.5, 0.7])
    assert ds.contact_rate.dims == ("scenario",)
    for name in ("susceptible", "infected", "recovered", "infection", "recovery"):
        assert ds[name].dims == ("time", "scenario")
    assert ds.susceptible.attrs == {"units": "person", "doc": "", "kind": "stock"}
    assert ds.infection.attrs["kind"] == "flow"
    assert ds.status.dims == ("scenario",)
    assert ds.status.values.tolist() == [0, 0, 0]
    assert ds.failed_variable.values.tolist() == ["", "", ""]
    assert np.isnan(ds.failed_time.values).all()
    assert ds.attrs["simdyn_version"] == simdyn.__version__
    assert ds.attrs["model"] == "sir"
    assert ds.attrs["method"] == "rk4"
    assert ds.attrs["dt"] == 0.125
    assert ds.attrs["start"] == 0
    assert ds.attrs["stop"] == 10
    assert ds.attrs["save_per"] == 1
    assert ds.attrs["time_units"] == "day"


def test_auxiliary_attrs_and_save_subset() -> None:
    ds = simdyn.simulate("bass", save=["adopters", "adoption_share"], stop=3)
    assert set(ds.data_vars) == {
        "adopters",
        "adoption_share",
        "status",
        "failed_variable",
        "failed_time",
    }
    assert ds.adoption_share.attrs["kind"] == "auxiliary"


def test_model_time_defaults_and_overrides() -> None:
    ds = simdyn.simulate("teacup")
    assert ds.attrs["method"] == "euler"  # the model's [time] method
    assert ds.time.size == 241
    ds = simdyn.simulate("teacup", start=5, stop=7, dt=0.5, save_per=1)
    np.testing.assert_array_equal(ds.time.values, [5, 6, 7])
    assert simdyn.simulate("logistic", stop=2).attrs["method"] == "rk4"  # the default


def test_presets_are_coordinates() -> None:
    model = simdyn.load_model("learning_org")
    group = next(iter(model.presets))
    names = list(model.presets[group])[:2]
    ds = simdyn.simulate(model, presets={group: names}, stop=1, save=[model.key_outputs[0]])
    assert ds.sizes["scenario"] == 2
    assert ds[f"preset_{group}"].values.tolist() == names
    for k, name in enumerate(names):
        for cname, val in model.presets[group][name].values.items():
            if not model.constants[cname].dims:
                assert float(ds[cname].values[k]) == pytest.approx(val)


def test_params_override_presets() -> None:
    model = simdyn.load_model("learning_org")
    group = next(iter(model.presets))
    name = next(iter(model.presets[group]))
    cname = next(c for c in model.presets[group][name].values if not model.constants[c].dims)
    lo = model.constants[cname].min
    override = float(lo if lo is not None else 0.0) + 0.01
    ds = simdyn.simulate(model, presets={group: name}, params={cname: override}, stop=1)
    assert float(ds[cname].values[0]) == pytest.approx(override)


@given(
    st.lists(st.floats(0.1, 2.0), min_size=1, max_size=4),
    st.sampled_from(["euler", "rk4", "RK45"]),
)
def test_netcdf_round_trip_identity(
    tmp_path_factory: pytest.TempPathFactory, rates: list[float], method: str
) -> None:
    ds = simdyn.simulate("sir", params={"contact_rate": rates}, stop=5, method=method)
    path = tmp_path_factory.mktemp("nc") / "run.nc"
    ds.to_netcdf(path)
    with xr.open_dataset(path) as back:
        xr.testing.assert_identical(ds, back.load())


def test_netcdf_round_trip_with_dimensions_and_failures(tmp_path: Path) -> None:
    model = simdyn.model_from_dict(
        {
            "model": {"name": "dims", "time_units": "s"},
            "time": {"start": 0, "stop": 1, "dt": 0.5},
            "dimensions": {"a": ["x", "y"]},
            "constants": {"c": {"dims": ["a"], "value": [1, 2]}, "z": 1.0},
            "stocks": {"s": {"dims": ["a"], "initial": "c", "inflows": ["f"]}},
            "flows": {"f": {"dims": ["a"], "equation": "s / z"}},
        }
    )
    ds = simdyn.simulate(model, params={"z": [1.0, 0.0], "c[y]": [3.0, 4.0]}, method="euler")
    assert ds.status.values.tolist() == [0, 1]
    ds.to_netcdf(tmp_path / "d.nc")
    with xr.open_dataset(tmp_path / "d.nc") as back:
        xr.testing.assert_identical(ds, back.load())


# -- the Model API --------------------------------------------------------------------------


def test_list_models_and_load_model() -> None:
    names = simdyn.list_models()
    assert {"teacup", "sir", "logistic", "bass"} <= set(names)
    assert names == sorted(names)
    for name in names:
        m = simdyn.load_model(name)
        assert m.name == name
        assert simdyn.load_model(m) is m
    m = simdyn.load_model("teacup")
    assert m.time_units == "minute"
    assert m.key_outputs == ("teacup_temperature",)
    assert m.constants["characteristic_time"].min == 0.1
    assert m.variables == ("teacup_temperature", "heat_loss_to_room")
    assert "teacup" in repr(m)


def test_load_model_by_path(tmp_path: Path) -> None:
    src = Path(simdyn.__file__).parent / "models" / "teacup.toml"
    dst = tmp_path / "cup.toml"
    dst.write_text(src.read_text())
    m = simdyn.load_model(dst)
    assert m.name == "teacup"
    assert m.spec.source == str(dst)
    a = simdyn.simulate(m).teacup_temperature.values
    b = simdyn.simulate("teacup").teacup_temperature.values
    np.testing.assert_array_equal(a, b)


def test_load_model_unknown_name_suggests() -> None:
    with pytest.raises(simdyn.ModelError, match="did you mean 'teacup'"):
        simdyn.load_model("teacpu")
    with pytest.raises(simdyn.ModelError, match=r"built-in models: .*teacup"):
        simdyn.load_model("zzzzzzzz")
    with pytest.raises(simdyn.SimdynError, match="does not exist"):
        simdyn.load_model("/nonexistent/model.toml")


def test_describe() -> None:
    df = simdyn.load_model("sir").describe()
    assert set(df.index) == {
        "population",
        "initial_infected",
        "contact_rate",
        "recovery_time",
        "susceptible",
        "infected",
        "recovered",
        "infection",
        "recovery",
    }
    assert df.loc["contact_rate", "kind"] == "constant"
    assert df.loc["contact_rate", "definition"] == 0.5
    assert df.loc["infection", "kind"] == "flow"
    assert df.loc["susceptible", "definition"] == "population - initial_infected"
    assert df.loc["susceptible", "units"] == "person"
    assert {"kind", "units", "dims", "definition", "doc", "source"} <= set(df.columns)


def test_replace_constant_by_an_equation() -> None:
    m = simdyn.load_model("teacup")
    hot = m.replace(equations={"room_temperature": "70 + STEP(10, 5)"})
    assert "room_temperature" in hot.auxiliaries
    assert "room_temperature" not in hot.constants
    assert "room_temperature" in m.constants  # the original is unchanged
    ds = simdyn.simulate(hot, method="euler", stop=10, save_per=1)
    np.testing.assert_array_equal(ds.room_temperature.values[:, 0], np.where(ds.time < 5, 70, 80))
    with pytest.raises(simdyn.ScenarioError, match="not a constant"):
        simdyn.simulate(hot, params={"room_temperature": 60})


def test_replace_values_and_flows() -> None:
    m = simdyn.load_model("teacup")
    slow = m.replace(constants={"characteristic_time": 20.0})
    assert slow.constants["characteristic_time"].value == 20.0
    a = simdyn.simulate(slow).teacup_temperature.values
    b = simdyn.simulate(m, params={"characteristic_time": 20.0}).teacup_temperature.values
    np.testing.assert_array_equal(a, b)
    doubled = m.replace(
        equations={
            "heat_loss_to_room": "2 * (teacup_temperature - room_temperature) / characteristic_time"
        }
    )
    c = simdyn.simulate(doubled).teacup_temperature.values
    np.testing.assert_allclose(
        c, simdyn.simulate(m, params={"characteristic_time": 5.0}).teacup_temperature.values
    )
    with pytest.raises(simdyn.ModelError, match="did you mean 'room_temperature'"):
        m.replace(equations={"room_temp": "1"})
    with pytest.raises(simdyn.ModelError, match="not a constant"):
        m.replace(constants={"teacup_temperature": 1.0})


def test_model_from_dict() -> None:
    m = simdyn.model_from_dict(
        {
            "model": {"name": "decay", "time_units": "day", "doc": "d", "key_outputs": ["x"]},
            "time": {"start": 0, "stop": 4, "dt": 1, "method": "euler"},
            "constants": {"k": {"value": 0.5, "units": "1/day"}},
            "stocks": {"x": {"initial": 8, "outflows": ["loss"]}},
            "flows": {"loss": {"equation": "k * x"}},
        }
    )
    assert m.doc == "d"
    assert m.spec.time.method == "euler"
    ds = simdyn.simulate(m)
    np.testing.assert_array_equal(ds.x.values[:, 0], [8, 4, 2, 1, 0.5])
