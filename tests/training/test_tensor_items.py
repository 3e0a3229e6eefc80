"""Items held as whole tensors (the embedding head's fast path) against lists of dicts, the direct
optimizer step against Accelerate's, and one seed giving one model."""

import os
import signal

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("accelerate")

from tailtune.backends.embedding_head import (  # noqa: E402
    EmbeddingHeadBackend,
    HeadSettings,
    _collate,
    _head_model,
)
from tailtune.objectives.losses import build_loss  # noqa: E402
from tailtune.objectives.multilabel import build_set_loss  # noqa: E402
from tailtune.training import (  # noqa: E402
    TrainingInterrupted,
    TrainSettings,
    fit_classifier,
    schedule,  # noqa: E402
)
from tailtune.training.batching import (  # noqa: E402
    TensorItems,
    item_column,
    item_lengths,
    take_batch,
)

K, DIM = 4, 16


def embeddings(n, seed, sets=False):
    """Rows near one of K centroids (a learnable task); labels, or 0/1 label-set rows."""
    rng = np.random.default_rng(seed)
    centroids = np.random.default_rng(99).standard_normal((K, DIM))
    y = rng.choice(K, size=n, p=[0.5, 0.25, 0.15, 0.1])
    x = (centroids[y] + 0.8 * rng.standard_normal((n, DIM))).astype(np.float32)
    if sets:
        rows = np.zeros((n, K), dtype=np.float32)
        rows[np.arange(n), y] = 1
        rows[rng.random(n) < 0.3, 0] = 1
        return x, rows
    return x, y


def as_dicts(x, y):
    """The items a list-based caller builds (as the embedding head did before TensorItems)."""
    if np.ndim(y) == 2:
        return [{"features": row, "labels": lab} for row, lab in zip(x, y, strict=True)]
    return [{"features": row, "labels": int(lab)} for row, lab in zip(x, y, strict=True)]


@pytest.mark.parametrize("sets", [False, True])
def test_rows_batches_and_columns_match_a_list_of_dicts(sets):
    x, y = embeddings(50, 0, sets)
    fast, slow = TensorItems(features=x, labels=y), as_dicts(x, y)
    assert len(fast) == 50
    if sets:
        np.testing.assert_array_equal(fast[7]["labels"], slow[7]["labels"])
    else:
        assert fast[7]["labels"] == slow[7]["labels"] and type(fast[7]["labels"]) is int
    np.testing.assert_array_equal(fast[7]["features"], slow[7]["features"])
    idx = [3, 41, 0, 3, 17]
    a, b = take_batch(fast, idx, _collate), take_batch(slow, idx, _collate)
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype and torch.equal(a[key], b[key])
    np.testing.assert_array_equal(item_column(fast, "labels"), np.asarray(y))
    assert item_lengths(fast) is None and item_lengths(slow) is None


def test_columns_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="different lengths"):
        TensorItems(features=np.zeros((3, 2), dtype=np.float32), labels=[0, 1])


def fit(items, val, sets=False, work_dir=None, **kw):
    y = np.asarray(item_column(items, "labels"))
    if sets:
        counts = y.sum(axis=0).astype(int).tolist()
        loss = build_set_loss("bce", label_counts=counts, n_texts=len(y))
        metrics = {"metrics_fn": _set_metrics}
    else:
        loss, metrics = build_loss("ce"), {}
    base = dict(lr=0.01, epochs=3, batch_size=16, progress=False, patience=None, seed=5,
                num_threads=1)  # fmt: skip
    torch.manual_seed(0)
    head = _head_model(DIM, K, HeadSettings(head="mlp", hidden_size=8))
    result = fit_classifier(head, items, collate=_collate, loss_fn=loss, num_classes=K,
                            settings=TrainSettings(**{**base, **kw}), eval_items=val,
                            work_dir=work_dir, **metrics)  # fmt: skip
    return result, head


def _set_metrics(logits, y):
    from tailtune.evaluation.set_metrics import set_metrics

    names = [str(k) for k in range(K)]
    return set_metrics(np.asarray(y) > 0.5, np.asarray(logits) > 0, names)


def strip(history):
    return [{k: v for k, v in h.items() if k != "elapsed_s"} for h in history]


CASES = {
    "plain": (False, {}),
    "sampler, accumulation, checkpoints": (True, dict(sampler="class_balanced", grad_accum=2)),
    "label sets": (False, {}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_tensor_items_train_exactly_as_a_list_of_dicts(case, tmp_path):
    """Same batches, same RNG use, same tensors: the fast path changes no number."""
    sets = case == "label sets"
    with_dir, kw = CASES[case]
    (x, y), (vx, vy) = embeddings(200, 0, sets), embeddings(60, 1, sets)
    runs = []
    for name, items, val in (
        ("dicts", as_dicts(x, y), as_dicts(vx, vy)),
        ("tensors", TensorItems(features=x, labels=y), TensorItems(features=vx, labels=vy)),
    ):
        work = tmp_path / name if with_dir else None
        runs.append(fit(items, val, sets, work_dir=work, **kw))
    (slow, slow_head), (fast, fast_head) = runs
    assert strip(fast.history) == strip(slow.history)
    assert fast.info["steps"] == slow.info["steps"] > 0
    for (name, a), (_, b) in zip(
        slow_head.state_dict().items(), fast_head.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name


def test_an_interrupted_tensor_items_run_resumes_exactly(tmp_path):
    """A SIGINT during step 9, then resume: the history of the uninterrupted run."""
    (x, y), (vx, vy) = embeddings(200, 0), embeddings(60, 1)
    items, val = TensorItems(features=x, labels=y), TensorItems(features=vx, labels=vy)
    kw = dict(eval_every=4, keep_checkpoints=3)
    full, _ = fit(items, val, work_dir=tmp_path / "full", **kw)
    real, sent = schedule.lr_factor, []

    def factor(s, *a):
        if s == 9 and not sent:
            sent.append(os.kill(os.getpid(), signal.SIGINT))
        return real(s, *a)

    schedule.lr_factor = factor
    try:
        with pytest.raises(TrainingInterrupted, match="SIGINT at step 9"):
            fit(items, val, work_dir=tmp_path / "cut", **kw)
    finally:
        schedule.lr_factor = real
    resumed, _ = fit(items, val, work_dir=tmp_path / "cut", resume=True, **kw)
    assert strip(resumed.history) == strip(full.history)


def backend_predictions(seed):
    (x, y), (vx, vy) = embeddings(200, 0), embeddings(60, 1)
    texts = [f"text {i}" for i in range(260)]
    rows, table = {t: i for i, t in enumerate(texts)}, np.concatenate([x, vx])
    b = EmbeddingHeadBackend.from_flat(lr=0.01, epochs=2, batch_size=16, progress=False,
                                       num_threads=1, seed=seed)  # fmt: skip
    b._embed = lambda ts: (table[[rows[t] for t in ts]], True)  # no encoder: the rows given
    b._encoder_size = lambda ts: None
    labels = [f"c{v}" for v in y]
    b.fit(texts[:200], labels, eval_set=(texts[200:], [f"c{v}" for v in vy]))
    return b.predict_proba(texts[200:])


def test_one_seed_gives_one_embedding_head():
    first, again = backend_predictions(7), backend_predictions(7)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, backend_predictions(8))  # the seed does reach the head


def test_direct_step_and_clipping_match_accelerates_wrappers():
    import accelerate

    from tailtune.training.step import clip_gradients, optimizer_step, zero_grad

    x, y = embeddings(32, 0)
    out = []
    for direct in (False, True):
        torch.manual_seed(0)
        head = _head_model(DIM, K, HeadSettings(dropout=0.0))
        acc = accelerate.Accelerator(cpu=True)
        model, opt = acc.prepare(head, torch.optim.AdamW(head.parameters(), lr=0.1))
        for _ in range(3):
            loss = torch.nn.functional.cross_entropy(
                model(torch.from_numpy(x)), torch.from_numpy(y)
            )
            acc.backward(loss)
            if direct:
                norm = clip_gradients(acc, model.parameters(), 0.05)
                optimizer_step(opt)
                zero_grad(opt)
            else:
                norm = acc.clip_grad_norm_(model.parameters(), 0.05)
                opt.step()
                opt.zero_grad(set_to_none=True)
            assert all(p.grad is None for p in model.parameters())
        out.append((float(norm), [p.detach().clone() for p in model.parameters()]))
    assert out[0][0] == out[1][0] > 0.05  # the norm before clipping: clipping was active
    assert all(torch.equal(a, b) for a, b in zip(out[0][1], out[1][1], strict=True))
