"""`SimulationConfig`, its JSON form and stored configurations with old key names."""

import json

import pytest

from massrecon.contract import FRAME_NPIX, FRAME_SIZE_R200, MEMBER_CATALOGUE_MASS_LIMIT
from massrecon.simulate import SimulationConfig
from massrecon.simulate.config import RENAMED_KEYS, canonical_config_json, upgrade_stored_config


def test_defaults_from_contract():
    cfg = SimulationConfig()
    assert cfg.npix == FRAME_NPIX and cfg.size_r200 == FRAME_SIZE_R200
    assert cfg.catalogue_mass_limit == MEMBER_CATALOGUE_MASS_LIMIT.to_value("Msun")


def test_json_round_trip_and_old_key():
    cfg = SimulationConfig(seed=4, catalogue_mass_limit=3e9, npix=24)
    text = cfg.to_json()
    assert "member_mass_limit" not in text
    assert SimulationConfig.from_json(text) == cfg
    old = text.replace("catalogue_mass_limit", "member_mass_limit")
    assert SimulationConfig.from_json(old) == cfg
    assert SimulationConfig.from_json(old.encode()) == cfg
    assert canonical_config_json(old) == text
    assert canonical_config_json(text) == text


def test_both_names_refused():
    d = json.loads(SimulationConfig().to_json())
    d["member_mass_limit"] = 1e9
    with pytest.raises(ValueError, match="member_mass_limit"):
        SimulationConfig.from_json(json.dumps(d))
    assert set(RENAMED_KEYS) == {"member_mass_limit"}
    assert upgrade_stored_config({"a": 1}) == {"a": 1}


def test_training_simulate_table_with_old_key():
    pytest.importorskip("torch")
    from massrecon.training import TrainingConfig

    table = {"n_halos": 3, "size_r200": 2.6}
    old = TrainingConfig.from_dict({"data": {"simulate": dict(table, member_mass_limit=2e9)}})
    new = TrainingConfig.from_dict({"data": {"simulate": dict(table, catalogue_mass_limit=2e9)}})
    assert old.to_dict() == new.to_dict()
    assert old.simulation_config().catalogue_mass_limit == 2e9
    assert "member_mass_limit" not in old.simulate
    with pytest.raises(ValueError, match="simulate: .*both"):
        TrainingConfig.from_dict({"data": {"simulate": {"n_halos": 3, "member_mass_limit": 2e9,
                                                        "catalogue_mass_limit": 2e9}}})


@pytest.mark.parametrize("name", ["fiducial", "weak_feedback", "strong_feedback"])
def test_data_set_of_the_superseded_gas_reads_as_its_v1_variant(name):
    # A data set simulated before the gas recalibration stored the name "fiducial" with the
    # parameters of that time (f_gas 0.12 (M/5e14)^0.25, core radii times a global 2.5): written
    # out here by hand, as massrecon 766963e wrote it, with the variant's own core_scale
    new = json.loads(SimulationConfig(physics=name, seed=2).to_json())
    then = {"fiducial": (0.12, 0.25, 1.0), "weak_feedback": (0.13, 0.12, 0.7),
            "strong_feedback": (0.11, 0.32, 1.5)}[name]
    old = dict(new, physics_model=dict(new["physics_model"], fgas_norm=then[0], fgas_slope=then[1],
                                       core_scale=then[2]))
    cfg = SimulationConfig.from_json(json.dumps(old))
    assert cfg.physics == f"{name}_v1"
    assert (cfg.physics_model.fgas_norm, cfg.physics_model.fgas_slope) == then[:2]
    assert cfg.physics_model.core_scale == pytest.approx(2.5 * then[2])
    # today's configuration keeps its name; so does one without its parameters
    assert SimulationConfig.from_json(json.dumps(new)).physics == name
    assert SimulationConfig.from_json(json.dumps({"physics": name, "seed": 2})).physics == name
