"""Field docs from attribute docstrings or trailing comments, and `config show`'s YAML."""

from dataclasses import dataclass, field, make_dataclass

import pytest
import yaml

from tailtune.config import config_to_dict, load_config
from tailtune.config_docs import class_doc, commented_yaml, config_field_docs, field_docs

pytestmark = pytest.mark.unit


@dataclass
class Commented:
    """Settings documented the way config.py does today."""

    lr: float = 2e-5  # peak learning rate
    steps: int | None = None  # None = one epoch
    # a comment above a field is not its doc
    plain: str = "x"
    names: list[str] = field(default_factory=lambda: ["a", "b"])  # names, on the field's last line


@dataclass
class Docstrings:
    """Settings documented with attribute docstrings (litgpt's args.py)."""

    lr: float = 2e-5
    """Peak learning rate.

    A second paragraph that a one-line doc leaves out."""
    epochs: float = 3.0  # a comment loses to the docstring
    """Passes over the training data."""
    inner: Commented = field(default_factory=Commented)
    """The nested settings."""


@dataclass
class Derived(Docstrings):
    extra: bool = False
    """Only in the subclass."""


def test_trailing_comments_are_field_docs():
    docs = field_docs(Commented)
    assert docs == {
        "lr": "peak learning rate",
        "steps": "None = one epoch",
        "names": "names, on the field's last line",
    }


def test_attribute_docstrings_win_and_give_their_first_paragraph():
    docs = field_docs(Docstrings)
    assert docs["lr"] == "Peak learning rate."
    assert docs["epochs"] == "Passes over the training data."
    assert docs["inner"] == "The nested settings."


def test_inherited_fields_keep_their_docs():
    docs = field_docs(Derived)
    assert docs["lr"] == "Peak learning rate." and docs["extra"] == "Only in the subclass."
    assert class_doc(Derived) == ""  # not the signature @dataclass writes into __doc__
    assert class_doc(Commented) == "Settings documented the way config.py does today."


def test_a_class_without_source_has_no_docs():
    Dynamic = make_dataclass("Dynamic", [("x", int, field(default=1))])
    assert field_docs(Dynamic) == {}
    assert [f.path for f in config_field_docs(Dynamic())] == ["x"]


@dataclass
class WithRuntime:
    kept: int = 1
    """Set in the config file."""
    filled: list[str] = field(default_factory=list, metadata={"yaml": False})
    """Filled in at run time by the component."""


def test_run_time_fields_are_not_shown():
    assert [f.path for f in config_field_docs(WithRuntime())] == ["kept"]
    assert yaml.safe_load(commented_yaml(WithRuntime(filled=["x"]))) == {"kept": 1}


def test_walk_lists_sections_then_their_fields_with_defaults():
    cfg = Docstrings(lr=1e-3)
    rows = {f.path: f for f in config_field_docs(cfg)}
    assert list(rows) == [
        "lr", "epochs", "inner", "inner.lr", "inner.steps", "inner.plain", "inner.names",
    ]  # fmt: skip
    assert rows["lr"].value == 1e-3 and rows["lr"].default == 2e-5
    assert rows["inner"].is_section and rows["inner"].doc == "The nested settings."
    assert rows["inner.names"].default == ["a", "b"]


def test_commented_yaml_lines_and_round_trip():
    cfg = Docstrings(lr=1e-3, inner=Commented(names=["only"]))
    text = commented_yaml(cfg, header=["made by a test"])
    lines = text.splitlines()
    assert lines[0] == "# made by a test"
    assert lines[1].split("#")[1].strip() == "Peak learning rate. (default 2e-05)"
    assert lines[1].startswith("lr: 0.001 ")
    inner_lr = next(line for line in lines if line.startswith("  lr:"))
    assert inner_lr.endswith("# peak learning rate (default 2e-05)")
    plain = next(line for line in lines if line.startswith("  plain:"))
    assert plain.endswith("# (default x)")
    assert yaml.safe_load(text) == {
        "lr": 0.001,
        "epochs": 3.0,
        "inner": {"lr": 2e-5, "steps": None, "plain": "x", "names": ["only"]},
    }


def test_the_real_config_round_trips_and_shows_its_defaults():
    cfg = load_config(None, ["train.lr=3e-5", "data.text_separator=' | '"])
    text = commented_yaml(cfg)
    assert yaml.safe_load(text) == config_to_dict(cfg)
    lr = next(line for line in text.splitlines() if line.strip().startswith("lr:"))
    assert lr.strip().startswith("lr: 3.0e-05") and "(default 2e-05)" in lr
    # every field is shown once, and at least the documented ones carry their doc
    rows = config_field_docs(cfg)
    leaves = [r for r in rows if not r.is_section]
    assert len(text.splitlines()) == len(rows)
    assert sum(bool(r.doc) for r in leaves) >= len(leaves) // 3
