from pathlib import Path

import pytest

from footfall.config import K_FLOOR, load_config, parse_override
from footfall.errors import ConfigError

CONF = Path(__file__).resolve().parents[2] / "conf"


def test_layers_merge_base_then_environment_then_overrides():
    cfg = load_config("local", CONF, {"privacy.k": 25})
    assert cfg.spark.master == "local[*]"  # from local.yaml
    assert cfg.visits.burst_gap_s == 120  # from base.yaml
    assert cfg.visits.travel_event_types == ("handover",)  # a YAML list becomes a tuple
    assert cfg.privacy.k == 25  # override
    assert load_config("cluster", CONF).spark.master is None


def test_config_is_frozen():
    cfg = load_config("local", CONF)
    with pytest.raises(AttributeError):
        cfg.privacy.k = 1  # type: ignore[misc]


def test_unknown_key_names_key_and_file(tmp_path):
    (tmp_path / "base.yaml").write_text((CONF / "base.yaml").read_text())
    (tmp_path / "local.yaml").write_text("visits:\n  max_gapp_minutes: 10\n")
    with pytest.raises(ConfigError, match=r"visits\.max_gapp_minutes.*local\.yaml"):
        load_config("local", tmp_path)


def test_bad_value_names_key_and_file(tmp_path):
    (tmp_path / "base.yaml").write_text((CONF / "base.yaml").read_text())
    (tmp_path / "local.yaml").write_text("time_zone: Mars/Olympus\n")
    with pytest.raises(ConfigError, match=r"time_zone.*local\.yaml.*Mars/Olympus"):
        load_config("local", tmp_path)
    (tmp_path / "local.yaml").write_text("visits:\n  burst_gap_s: fifteen\n")
    with pytest.raises(ConfigError, match=r"visits\.burst_gap_s.*'fifteen'"):
        load_config("local", tmp_path)
    (tmp_path / "local.yaml").write_text("visits:\n  split: average\n")
    with pytest.raises(ConfigError, match=r"visits\.split.*'average'.*posterior, midpoint"):
        load_config("local", tmp_path)


def test_the_retired_visit_gap_is_an_unknown_key():
    with pytest.raises(ConfigError, match=r"visits\.max_gap_minutes"):
        load_config("local", CONF, {"visits.max_gap_minutes": 15})


def test_key_epochs_are_whole_weeks():
    for days in (30, 1, 0, 371):
        with pytest.raises(ConfigError, match=r"privacy\.key_epoch_days.*multiple of 7.*ISO weeks"):
            load_config("local", CONF, {"privacy.key_epoch_days": days})
    assert load_config("local", CONF).privacy.key_epoch_days == 28
    assert load_config("local", CONF, {"privacy.key_epoch_days": 7}).privacy.key_epoch_days == 7


def test_k_below_floor_is_refused():
    with pytest.raises(ConfigError, match=rf"privacy\.k.*command-line override.*floor {K_FLOOR}"):
        load_config("local", CONF, {"privacy.k": K_FLOOR - 1})
    assert load_config("local", CONF, {"privacy.k": K_FLOOR}).privacy.k == K_FLOOR


def test_override_values_are_yaml_scalars_never_evaluated():
    assert parse_override("privacy.k=25") == ("privacy.k", 25)
    assert parse_override("spark.master=__import__('os')") == ("spark.master", "__import__('os')")
    with pytest.raises(ConfigError, match=r"section\.key=value"):
        parse_override("privacy.k")


def test_derived_paths_follow_data_dir():
    cfg = load_config("local", CONF, {"paths.data_dir": "/srv/x"})
    assert cfg.path("warehouse_dir") == "/srv/x/warehouse"
    assert cfg.path("landing_dir") == "/srv/x/landing"


def test_a_stay_share_that_switches_the_dominance_rule_off_is_refused():
    assert load_config("local", CONF).privacy.max_stay_share == 0.5
    for share in (0, 1.0, 1.5):  # 1 or more would never withhold
        with pytest.raises(ConfigError, match=r"privacy\.max_stay_share.*a share > 0 and < 1"):
            load_config("local", CONF, {"privacy.max_stay_share": share})
