"""A setting the chosen backend cannot use is refused, naming the field and where it applies."""

import pytest

from tailtune.backends.build import check_settings
from tailtune.config import config_from_dict
from tailtune.errors import ConfigError

pytestmark = pytest.mark.unit

ENSEMBLE = {"backend": "ensemble", "ensemble": {"members": [{"backend": "tfidf"}] * 2}}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"objective": {"loss": "focal"}},
            "objective.loss=focal: the tfidf backend does not use it; it applies to "
            "embedding_head, encoder, decoder_lora",
        ),
        ({"objective": {"sampler": "class_balanced"}}, "objective.sampler=class_balanced: the tfidf"),
        ({"train": {"lr": 5}}, "train.lr=5.0: the tfidf backend does not use it"),
        ({"model": {"lora": {"r": 4}}}, "model.lora.r=4: the tfidf backend does not use it; it applies to decoder_lora"),
        ({"model": {"backend": "majority"}, "objective": {"class_weights": "inverse"}}, "objective.class_weights=inverse: the majority backend"),
        # members are built without post-hoc τ: the ensemble tunes τ on the blend itself
        ({"model": ENSEMBLE, "objective": {"tune_posthoc_tau": True}}, "objective.tune_posthoc_tau=true: the ensemble backend"),
        # a stage's rule reached when the config is resolved, not after the data is read
        ({"model": {**ENSEMBLE, "ensemble": {"members": [{"backend": "tfidf"}]}}}, "model.ensemble.members: got 1"),
    ],
)  # fmt: skip
def test_an_unused_setting_is_an_error_naming_the_field(raw, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        check_settings(config_from_dict(raw))


def test_settings_a_backend_uses_pass_and_harmless_ones_warn():
    used = {"objective": {"class_weights": "inverse", "tune_posthoc_tau": True}}
    assert check_settings(config_from_dict(used)) == []
    neural = {"model": {"backend": "encoder", "name": "x"}, "objective": {"loss": "focal"},
              "train": {"lr": 1e-4, "num_threads": 1}}  # fmt: skip
    assert check_settings(config_from_dict(neural)) == []
    # the workflow's own fields (refit, label-name texts) apply to every backend
    workflow = {"train": {"refit": True}, "objective": {"label_name_examples": 1}}
    assert check_settings(config_from_dict(workflow)) == []
    threads = check_settings(config_from_dict({"train": {"num_threads": 1}}))
    assert threads == ["train.num_threads=1: the tfidf backend does not use it (ignored)"]
    # a composite reads what its stages read: an embedding-head member uses the train section
    mixed = {"model": {"backend": "ensemble", "name": "x", "ensemble": {"members": [
        {"backend": "tfidf"}, {"model": {"backend": "embedding_head"}}]}}, "train": {"lr": 1e-3}}  # fmt: skip
    assert check_settings(config_from_dict(mixed)) == []
