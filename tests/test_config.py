"""Config validation: unknown keys and bad values fail with the field name and what is allowed."""

import pytest

from tailtune.config import (
    Config,
    apply_overrides,
    config_from_dict,
    config_hash,
    dump_config,
    load_config,
)
from tailtune.errors import ConfigError

pytestmark = pytest.mark.unit


def test_defaults_round_trip_through_yaml(tmp_path):
    cfg = config_from_dict(
        {"model": {"backend": "tfidf"}, "objective": {"class_weights": "sqrt_inverse"}}
    )
    p = tmp_path / "c.yaml"
    p.write_text(dump_config(cfg))
    again = load_config(p)
    assert again == cfg
    assert config_hash(again) == config_hash(cfg)


def test_typo_in_key_suggests_the_field():
    with pytest.raises(
        ConfigError,
        match=r"unknown config field 'objective.class_weight'; did you mean 'class_weights'",
    ):
        config_from_dict({"objective": {"class_weight": "inverse"}})


def test_bad_choice_lists_allowed_values():
    with pytest.raises(ConfigError) as exc:
        config_from_dict({"objective": {"class_weights": "sqrt-inverse"}})
    msg = str(exc.value)
    assert "objective.class_weights" in msg and "sqrt_inverse" in msg and "'sqrt-inverse'" in msg


def test_bad_type_names_field_and_expectation():
    with pytest.raises(ConfigError, match=r"train.batch_size: got 'big', expected an integer"):
        config_from_dict({"train": {"batch_size": "big"}})


def test_range_checks():
    with pytest.raises(ConfigError, match="label_smoothing"):
        config_from_dict({"objective": {"label_smoothing": 1.5}})
    with pytest.raises(ConfigError, match="tail_max"):
        config_from_dict({"eval": {"head_min": 10, "tail_max": 50}})


def test_overrides_parse_yaml_values_and_scientific_lr(tmp_path):
    raw = apply_overrides({}, ["train.lr=2e-5", "train.batch_size=4", "data.text_columns=[a, b]"])
    cfg = config_from_dict(raw)
    assert cfg.train.lr == pytest.approx(2e-5)
    assert cfg.train.batch_size == 4
    assert cfg.data.text_columns == ["a", "b"]


def test_override_values_yaml_reads_as_comments_or_null():
    raw = apply_overrides(
        {}, ["data.multi_label_separator=#", "model.name=null", "data.val_path=", "eval.top_k=~"]
    )
    assert raw["data"]["multi_label_separator"] == "#"  # not a YAML comment, not None
    assert raw["model"]["name"] is None
    assert raw["data"]["val_path"] is None
    assert raw["eval"]["top_k"] is None


def test_hash_changes_with_any_field():
    a = Config()
    b = config_from_dict({"seed": 43})
    assert config_hash(a) != config_hash(b)


def test_missing_and_invalid_yaml_files(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(bad)


def test_shipped_recipes_load_and_build():
    from tailtune.backends import build_backend
    from tailtune.config import load_config, recipe_names, recipe_path

    assert "cpu-longtail" in recipe_names()
    cfg = load_config(recipe_path("cpu-longtail"), ["data.synthetic=tiny"])
    backend = build_backend(cfg)
    assert backend.name == "ensemble" and len(backend.members) == 2
    assert cfg.objective.label_name_examples == 1
    finetune = load_config(recipe_path("cpu-finetune"), ["data.synthetic=tiny"])
    assert build_backend(finetune).name == "encoder"
