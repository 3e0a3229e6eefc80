"""benchmarks/ingredients.py: every variant is the recipe with one valid change."""

from __future__ import annotations

import sys
from pathlib import Path

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


def test_an_unknown_variant_is_one_clear_line(ingredients):
    with pytest.raises(SystemExit, match="--variants: unknown"):
        ingredients.main(["--variants", "nope"])
