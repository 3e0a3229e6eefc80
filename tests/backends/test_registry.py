"""The backend registry: config → keyword arguments, and the fields the workflow keeps to itself."""

import pytest

from tailtune.backends import WORKFLOW_OBJECTIVE, backend_kwargs
from tailtune.config import config_from_dict


@pytest.mark.parametrize("backend", ["embedding_head", "encoder", "decoder_lora"])
def test_workflow_objective_fields_never_reach_a_neural_backend(backend):
    cfg = config_from_dict(
        {"model": {"backend": backend, "name": "m"}, "objective": {"label_name_examples": 1}}
    )
    kwargs = backend_kwargs(cfg)
    assert not WORKFLOW_OBJECTIVE & set(kwargs)
    assert kwargs["class_weights"] == "none"  # the other objective fields still do
