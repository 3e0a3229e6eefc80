"""benchmarks/ingredients.py: every variant is the recipe with one valid change."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ingredients():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import ingredients
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return ingredients


def test_every_variant_builds_from_the_recipe(ingredients):
    from tailtune.backends import build_backend
    from tailtune.config import load_config, recipe_path

    base = load_config(recipe_path("cpu-longtail"))
    built = {}
    for name, (partial, what) in ingredients.VARIANTS.items():
        assert what
        ens = build_backend(base.merged(partial))
        built[name] = ens
        assert [type(m).__name__ for m in ens.members][0] == "TfidfBackend"
    assert [m.name for m in built["prototype"].members] == ["tfidf", "embedding_head", "prototype"]
    assert built["carves3"].carves == 3 and built["recipe"].carves == 1
    head = built["taunorm"].members[1]
    assert head.embedding.tune_tau_norm and not built["recipe"].members[1].embedding.tune_tau_norm
    crt = built["crt"].members[1].objective
    assert (crt.sampler, crt.class_weights) == ("class_balanced", "none")
    assert built["nameinit"].members[1].embedding.init == "label_names"
    assert built["chunkmean"].members[1].window.long_text == "chunk_mean"
    body = built["contrastive"].members[1].embedding
    assert (body.body_steps, body.body_tokens) == (400, 300_000)
    assert built["recipe"].members[1].embedding.body_steps == 0


def test_body_settings_left_off_do_not_change_a_cells_digest(ingredients):
    """A cell stored before the body-tuning settings existed stays valid while they are off."""
    from tailtune.config import load_config, recipe_path

    base = load_config(recipe_path("cpu-longtail"))
    off = base.merged({"model": {"embedding": {"body_lr": 5e-4}}})  # inert: body_steps is 0
    on = base.merged({"model": {"embedding": {"body_steps": 10}}})
    assert ingredients.config_digest(off) == ingredients.config_digest(base)
    assert ingredients.config_digest(on) != ingredients.config_digest(base)


def test_recipe_set_overrides_the_base_of_every_variant(ingredients):
    import argparse

    args = argparse.Namespace(threads=1, recipe_set=["model.embedding.body_steps=7"])
    assert ingredients.recipe_config(args).model.embedding.body_steps == 7
    args.recipe_set = None
    assert ingredients.recipe_config(args).model.embedding.body_steps == 0


def test_an_unknown_variant_is_one_clear_line(ingredients):
    with pytest.raises(SystemExit, match="--variants: unknown"):
        ingredients.main(["--variants", "nope"])


def test_bad_seeds_and_seeded_nulls_are_one_clear_line(ingredients):
    with pytest.raises(SystemExit, match="--seeds: got 'x'"):
        ingredients.main(["--seeds", "x"])
    with pytest.raises(SystemExit, match=r"--variants: \['seed43'\] set their own seed"):
        ingredients.main(["--seeds", "42,43", "--variants", "seed43"])


def test_seeds_pair_per_seed_resume_from_workdir_and_count_seed_noise(
    ingredients, tmp_path, monkeypatch
):
    """Fake fits (no model): the recipe is right on 60% of the rows at every seed; `good` adds
    20 rows more at every seed (a win beyond both noises), `noisy` swings by the seed."""
    rng = np.random.default_rng(0)
    yt = rng.choice(["a", "b", "c"], size=300)
    wrong = np.where(yt == "a", "b", "a")
    base = np.where(np.arange(300) < 180, yt, wrong)
    extra = {"recipe": 0, "good": 60, "noisy": None}
    fits = []

    def fake_fit(variant, cfg, data):
        fits.append((cfg.seed, variant))
        k = extra[variant] if extra[variant] is not None else {1: 60, 2: -60, 3: 0}[cfg.seed]
        pred = np.where(np.arange(300) < 180 + k, yt, wrong) if k >= 0 else base.copy()
        if k < 0:
            pred[:-k] = wrong[:-k]
        row = {"variant": variant, "seed": cfg.seed, "macro_f1": 0.0, "accuracy": 0.0,
               "tail_f1": None, "tune_f1": None, "members": None, "choice": "", "fit_s": 0.0,
               "fit_cpu": 0.0, "embed_s": 0.0, "predict_s": 1.0, "n_test": 300}  # fmt: skip
        return row, pred

    data = {"X": ["x"], "y": np.array(["a"]), "Xt": ["t"] * 300, "yt": yt, "counts": {"a": 1},
            "head_min": 100, "tail_max": 20}  # fmt: skip
    monkeypatch.setattr(ingredients, "fit_cell", fake_fit)
    monkeypatch.setattr(ingredients, "load_split", lambda name: data)
    monkeypatch.setattr(ingredients, "embed_whole_split", lambda cfg, data: None)
    monkeypatch.setitem(ingredients.VARIANTS, "good", ({}, "fake win"))
    monkeypatch.setitem(ingredients.VARIANTS, "noisy", ({}, "fake seed luck"))
    out = tmp_path / "res.md"
    argv = ["--datasets", "fake", "--variants", "good,noisy", "--seeds", "1,2,3",
            "--workdir", str(tmp_path / "cells"), "--n-boot", "200", "--out", str(out)]  # fmt: skip
    ingredients.main(argv)
    assert len(fits) == 9 and (tmp_path / "cells/fake/seed2/noisy.json").is_file()
    text = out.read_text()
    assert "ingredients over seeds 1,2,3 (good,noisy)" in text and "(unfinished)" not in text
    good = next(line for line in text.splitlines() if line.startswith("| good (Δ)"))
    noisy = next(line for line in text.splitlines() if line.startswith("| noisy (Δ)"))
    assert good.endswith("| win |") and noisy.endswith("| within the noise |")
    # a second run reads every cell back: nothing is refitted, the same tables come out
    fits.clear()
    ingredients.main(argv)
    tables = out.read_text().split("Summary over seeds")[1]
    assert fits == [] and tables == text.split("Summary over seeds")[1]
