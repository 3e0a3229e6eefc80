"""Fixtures of tiny models (factories in :mod:`tests.training.tiny_models`)."""

from __future__ import annotations

import pytest

from tests.training.tiny_models import save_tiny_model


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory):
    """Directory of a tiny random BERT with tokenizer."""
    pytest.importorskip("transformers")
    return save_tiny_model(tmp_path_factory.mktemp("tiny-bert"), "bert")


@pytest.fixture(scope="session")
def tiny_modernbert_dir(tmp_path_factory):
    """Directory of a tiny random ModernBERT with tokenizer."""
    pytest.importorskip("transformers")
    return save_tiny_model(tmp_path_factory.mktemp("tiny-modernbert"), "modernbert")
