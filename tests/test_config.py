"""Config validation: unknown keys and bad values fail with the field name and what is allowed."""

import pytest

from tailtune.config import (
    Config,
    apply_overrides,
    config_from_dict,
    dump_config,
    load_config,
)
from tailtune.errors import ConfigError
from tailtune.runs.index import run_config_hash

pytestmark = pytest.mark.unit


def test_defaults_round_trip_through_yaml(tmp_path):
    cfg = config_from_dict(
        {"model": {"backend": "tfidf"}, "objective": {"class_weights": "sqrt_inverse"}}
    )
    p = tmp_path / "c.yaml"
    p.write_text(dump_config(cfg))
    again = load_config(p)
    assert again == cfg
    assert run_config_hash(again) == run_config_hash(cfg)


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


def test_override_values_yaml_reads_as_empty_block_scalars_stay_literal():
    raw = apply_overrides({}, ["data.multi_label_separator=|", "data.label_separator=>",
                               'data.text_separator=""'])  # fmt: skip
    assert raw["data"]["multi_label_separator"] == "|"  # not YAML's empty block scalar
    assert raw["data"]["label_separator"] == ">"
    assert raw["data"]["text_separator"] == ""  # asked for explicitly: then refused below


def test_an_empty_separator_is_refused_naming_the_field():
    for name in ("multi_label_separator", "label_separator", "text_separator"):
        with pytest.raises(ConfigError, match=f"data.{name}: got an empty string"):
            config_from_dict({"data": {name: ""}})


def test_hash_changes_with_any_field():
    a = Config()
    b = config_from_dict({"seed": 43})
    assert run_config_hash(a) != run_config_hash(b)


def test_missing_and_invalid_yaml_files(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(bad)
    binary = tmp_path / "model.yaml"
    binary.write_bytes(b"\x80\x81 not text")
    with pytest.raises(ConfigError, match=r"model.yaml: not UTF-8 text \(byte 0\)"):
        load_config(binary)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="expected a mapping of config sections at the top level"):
        load_config(listed)


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
    # the tuned recipe is cpu-longtail with the body tuned first, its settings in model.embedding
    # (so that --set model.embedding.body_* reaches the head member)
    tuned = build_backend(load_config(recipe_path("cpu-longtail-tuned"), ["data.synthetic=tiny"]))
    head = tuned.members[1]
    assert [m.name for m in tuned.members] == ["tfidf", "embedding_head"]
    assert (head.embedding.body_steps, head.embedding.body_lr) == (400, 1e-4)
    # one fit: a refit on train + validation would tune the body a second time
    assert load_config(recipe_path("cpu-longtail-tuned")).train.refit is False
    fewer = load_config(recipe_path("cpu-longtail-tuned"), ["model.embedding.body_steps=7"])
    assert build_backend(fewer).members[1].embedding.body_steps == 7


@pytest.mark.parametrize("name", ["cpu-longtail", "cpu-longtail-tuned", "cpu-finetune"])
def test_every_shipped_recipe_is_named_where_users_look(name):
    """The --recipe help and the recipe list name every shipped recipe."""
    from tailtune.cli._common import RecipeOpt
    from tailtune.config import recipe_names

    assert name in recipe_names()
    assert name in RecipeOpt.__metadata__[0].help


SETTINGS_SECTIONS = [
    "data",
    "split",
    "model",
    "model.tfidf",
    "model.embedding",
    "model.lora",
    "model.cascade",
    "model.ensemble",
    "objective",
    "train",
    "eval",
]


def _section(cfg, dotted):
    obj = cfg
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("section", ["", *SETTINGS_SECTIONS])
def test_every_config_field_has_a_one_line_attribute_docstring(section):
    from tailtune._settings import yaml_fields
    from tailtune.config_docs import field_docs

    obj = _section(Config(), section) if section else Config()
    docs = field_docs(type(obj))
    for f in yaml_fields(obj):
        assert docs.get(f.name), f"{section or 'config'}.{f.name} has no docstring"


@pytest.mark.parametrize("section", ["", *SETTINGS_SECTIONS])
def test_an_unknown_key_is_an_error_in_every_section(section):
    raw: dict = {}
    node = raw
    for part in section.split(".") if section else []:
        node = node.setdefault(part, {})
    node["no_such_field"] = 1
    dotted = f"{section}.no_such_field" if section else "no_such_field"
    with pytest.raises(ConfigError, match=f"unknown config field '{dotted}'"):
        config_from_dict(raw)


def test_the_train_section_is_the_loops_own_settings_and_runtime_fields_stay_out():
    from tailtune.training.settings import TrainSettings

    cfg = config_from_dict({"train": {"lr": 1e-3}})
    assert type(cfg.train) is TrainSettings and cfg.train.lr == 1e-3
    dumped = dump_config(cfg)
    for runtime in ("progress", "sampler_epoch_size"):
        assert f"  {runtime}:" not in dumped.split("train:")[1].split("eval:")[0]
    with pytest.raises(ConfigError, match="unknown config field 'train.progress'"):
        config_from_dict({"train": {"progress": False}})
    with pytest.raises(ConfigError, match="unknown config field 'train.learning_rate'"):
        TrainSettings.from_kwargs(lr=1e-3, learning_rate=1)  # never silently dropped


def test_component_settings_validate_themselves_with_their_dotted_name():
    cases = [
        ({"train": {"warmup_ratio": 1.0}}, r"train.warmup_ratio: got 1.0"),
        ({"train": {"scheduler": "cosin"}}, r"train.scheduler: got 'cosin'.*did you mean 'cosine'"),
        ({"model": {"lora": {"r": 0}}}, r"model.lora.r: got 0, expected at least 1"),
        ({"model": {"embedding": {"dropout": 1.0}}}, r"model.embedding.dropout: got 1.0"),
        ({"model": {"tfidf": {"char_ngrams": [5, 2]}}}, r"model.tfidf.char_ngrams: got \[5, 2\]"),
        ({"model": {"cascade": {"head_top_k": 0}}}, r"model.cascade.head_top_k: got 0"),
        ({"model": {"ensemble": {"carve": 1.0}}}, r"model.ensemble.carve: got 1.0"),
        ({"model": {"backend": "ensemble"}}, r"model.ensemble.members: got 0, expected at least 2"),
    ]
    for raw, message in cases:
        with pytest.raises(ConfigError, match=message):
            config_from_dict(raw)


def test_merged_applies_a_partial_config_over_a_whole_one():
    cfg = config_from_dict({"seed": 3, "objective": {"class_weights": "inverse"}})
    sub = cfg.merged({"model": {"backend": "majority"}, "train": {"lr": 0.5}})
    assert sub.model.backend == "majority" and sub.train.lr == 0.5
    assert sub.seed == 3 and sub.objective.class_weights == "inverse"
    assert cfg.model.backend == "tfidf" and cfg.train.lr == 2e-5  # the original is untouched


def test_config_exports_only_what_it_defines():
    """Each settings class has one name, in its component's module: no aliases here."""
    import tailtune.config as config

    foreign = [n for n in config.__all__ if getattr(config, n).__module__ != "tailtune.config"]
    assert foreign == []
    assert not hasattr(config, "TrainConfig") and not hasattr(config, "config_hash")
