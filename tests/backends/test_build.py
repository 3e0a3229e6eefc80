"""The builder: config -> built backends; partial-config stages merged over the run's config."""

import pytest

from tailtune.backends import WORKFLOW_OBJECTIVE, backend_kwargs, build_backend, build_stage
from tailtune.config import config_from_dict
from tailtune.errors import ConfigError

pytestmark = pytest.mark.unit


def test_stage_from_partial_config_over_base_config():
    # moved from test_cascade.py: the merging now happens in the builder, not in the cascade
    cfg = config_from_dict({"model": {"backend": "cascade"}})
    router = build_stage({"model": {"tfidf": {"C": 3.0}}}, cfg, "model.cascade.router")
    assert router.name == "tfidf" and router.tfidf.C == 3.0  # no backend given: tfidf
    specialist = build_stage({"model": {"backend": "majority"}}, cfg, "model.cascade.specialist")
    assert specialist.name == "majority"


def test_cascade_config_builds_its_stages_and_the_cascade_takes_them_built():
    cfg = config_from_dict(
        {
            "seed": 7,
            "objective": {"class_weights": "inverse"},
            "model": {
                "backend": "cascade",
                "cascade": {
                    "head_top_k": 2,
                    "router": {"model": {"tfidf": {"C": 2.0}}},
                    "specialist": {"backend": "majority"},
                },
            },
        }
    )
    cascade = build_backend(cfg)
    assert cascade.head_top_k == 2 and cascade.seed == 7
    # a partial-config stage inherits the run's objective and seed
    assert cascade.router.tfidf.C == 2.0 and cascade.router.objective.class_weights == "inverse"
    assert cascade.router.seed == 7 and cascade.specialist.seed == 7
    assert cascade.specialist.name == "majority"


def test_stage_errors_name_the_stage():
    cfg = config_from_dict({"model": {"backend": "ensemble", "ensemble": {"members": [{}, {}]}}})
    with pytest.raises(ConfigError, match=r"model.ensemble.members\[1\]: a stage cannot itself"):
        build_stage({"model": {"backend": "cascade"}}, cfg, "model.ensemble.members[1]")
    with pytest.raises(ConfigError, match=r"members\[0\]: unknown config field 'model.tfidf.c'"):
        build_stage({"model": {"tfidf": {"c": 1}}}, cfg, "model.ensemble.members[0]")


@pytest.mark.parametrize("backend", ["embedding_head", "encoder", "decoder_lora"])
def test_workflow_objective_fields_never_reach_a_neural_backend(backend):
    # moved from test_registry.py; the objective now arrives as one settings object
    cfg = config_from_dict(
        {"model": {"backend": backend, "name": "m"}, "objective": {"label_name_examples": 1}}
    )
    objective = backend_kwargs(cfg)["objective"]
    assert all(getattr(objective, f) == getattr(type(objective)(), f) for f in WORKFLOW_OBJECTIVE)
    assert objective.label_name_examples == 0
    assert objective.class_weights == "none"  # the other objective fields still do
    assert cfg.objective.label_name_examples == 1  # the run's config is untouched


def test_neural_backend_needs_a_model_name():
    cfg = config_from_dict({"model": {"backend": "encoder"}})
    with pytest.raises(ConfigError, match="model.name: required for backend 'encoder'"):
        build_backend(cfg)
