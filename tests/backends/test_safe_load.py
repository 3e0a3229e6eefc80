"""A run directory is untrusted input: loading a saved backend never unpickles anything."""

import pickle

import numpy as np
import pytest

from tailtune.backends import load_backend
from tailtune.backends.tfidf import TfidfBackend
from tailtune.errors import DataError
from tests.training.tiny_models import toy_task

pytestmark = pytest.mark.unit


class _Payload:
    """Unpickling this object creates ``marker``: proof that the pickle's code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _plant(path, marker):
    path.write_bytes(pickle.dumps(_Payload(marker)))


@pytest.fixture
def saved(tmp_path):
    texts, labels = toy_task(40, 0)
    b = TfidfBackend.from_flat().fit(texts, labels)
    b.save(tmp_path / "m")
    return b, texts, tmp_path / "m"


def test_a_planted_pickle_beside_the_model_is_never_read(saved, tmp_path):
    b, texts, folder = saved
    marker = tmp_path / "pwned"
    for name in ("model.pkl", "state.pkl", "arrays.pkl"):
        _plant(folder / name, marker)
    loaded = load_backend(folder)
    np.testing.assert_array_equal(loaded.predict_proba(texts), b.predict_proba(texts))
    assert not marker.exists()


def test_a_pickle_in_place_of_the_arrays_is_refused(saved, tmp_path):
    _, _, folder = saved
    marker = tmp_path / "pwned"
    _plant(folder / "arrays.npz", marker)  # an .npz that is really a pickle
    with pytest.raises((ValueError, OSError, DataError)):
        load_backend(folder)
    assert not marker.exists()


def test_an_old_pickled_model_is_refused_with_a_clear_error(saved, tmp_path):
    _, _, folder = saved
    marker = tmp_path / "pwned"
    (folder / "state.json").unlink()
    (folder / "arrays.npz").unlink()
    _plant(folder / "model.pkl", marker)  # what an older tailtune wrote
    with pytest.raises(DataError, match="pickle from an older tailtune, refused"):
        load_backend(folder)
    assert not marker.exists()


@pytest.mark.integration
def test_a_pickled_head_of_an_embedding_model_is_refused(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tailtune.backends.embedding_head import EmbeddingHeadBackend
    from tests.training.tiny_models import save_tiny_model

    model = save_tiny_model(tmp_path / "bert", "bert")
    texts, labels = toy_task(24, 0)
    b = EmbeddingHeadBackend.from_flat(
        model_name=model,
        cache_dir=str(tmp_path / "c"),
        epochs=1,
        lr=1e-3,
        progress=False,
        num_threads=1,
    )
    b.fit(texts, labels)
    b.save(tmp_path / "m")
    assert (tmp_path / "m" / "head.safetensors").is_file()
    marker = tmp_path / "pwned"
    (tmp_path / "m" / "head.safetensors").unlink()
    _plant(tmp_path / "m" / "head.pt", marker)  # torch.load would unpickle it without weights_only
    with pytest.raises(DataError, match="not a plain tensor file, refused"):
        load_backend(tmp_path / "m")
    assert not marker.exists()
