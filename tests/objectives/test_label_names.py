"""Label names as training examples: the texts added, descriptions, and bad description files."""

import pandas as pd
import pytest

from tailtune.config import config_from_dict
from tailtune.errors import ConfigError
from tailtune.objectives.label_names import label_name_examples, label_text, read_descriptions
from tailtune.workflow import training_inputs


def test_label_text_turns_identifiers_into_words():
    assert label_text("card_arrival") == "card arrival"
    assert label_text("atis_flight#atis_airfare") == "atis flight#atis airfare"
    assert label_text("Vehicle was repossessed") == "Vehicle was repossessed"
    assert label_text("Product | Issue") == "Product Issue"


def test_copies_per_class_and_descriptions_win_over_names():
    texts, labels = label_name_examples(["a_b", "c"], 2, {"c": "the letter c"})
    assert texts == ["a b", "a b", "the letter c", "the letter c"]
    assert labels == ["a_b", "a_b", "c", "c"]
    assert label_name_examples(["a"], 0) == ([], [])
    with pytest.raises(ConfigError, match="expected 0 or more"):
        label_name_examples(["a"], -1)


def test_read_descriptions_yaml_json_and_errors(tmp_path):
    (tmp_path / "d.yaml").write_text("fees: charged fees or interest\n'7': seven\n")
    assert read_descriptions(tmp_path / "d.yaml") == {
        "fees": "charged fees or interest",
        "7": "seven",
    }
    (tmp_path / "d.json").write_text('{"x": "ex"}')
    assert read_descriptions(tmp_path / "d.json") == {"x": "ex"}
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        read_descriptions(tmp_path / "list.yaml")
    (tmp_path / "empty.yaml").write_text("a: ''\n")
    with pytest.raises(ConfigError, match="label 'a' needs a non-empty text"):
        read_descriptions(tmp_path / "empty.yaml")
    with pytest.raises(ConfigError, match="file not found"):
        read_descriptions(tmp_path / "missing.yaml")


def test_training_inputs_add_examples_and_report(tmp_path):
    (tmp_path / "d.yaml").write_text("b: bee\nzzz: unused\n")
    frame = pd.DataFrame({"text": ["t1", "t2", "t3"], "label": ["a", "b", "a"]})
    plain = config_from_dict({})
    assert training_inputs(plain, frame) == (["t1", "t2", "t3"], ["a", "b", "a"], {})
    cfg = config_from_dict(
        {"objective": {"label_name_examples": 1, "label_descriptions": str(tmp_path / "d.yaml")}}
    )
    texts, labels, report = training_inputs(cfg, frame)
    assert texts == ["t1", "t2", "t3", "a", "bee"]
    assert labels == ["a", "b", "a", "a", "b"]
    assert report == {"copies": 1, "added": 2, "described": 1, "unused_descriptions": ["zzz"]}


def test_negative_copies_fail_in_config():
    with pytest.raises(ConfigError, match="objective.label_name_examples: got -2"):
        config_from_dict({"objective": {"label_name_examples": -2}})
