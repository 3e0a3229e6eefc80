"""advise on label sets: refused in one line that says why and what to use instead."""

import pytest

from tailtune.advise.run import advise
from tailtune.errors import ConfigError

pytestmark = pytest.mark.unit


def test_advise_refuses_label_sets_before_training_anything(tmp_path):
    (tmp_path / "t.csv").write_text('text,tags\ninvoice,billing\nreset,"login,billing"\n')
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"data: {{path: {tmp_path / 't.csv'}, label_columns: [tags], "
                   "multi_label: sets}\n")  # fmt: skip
    with pytest.raises(ConfigError, match=r"^advise: data.multi_label: sets: .* several labels"):
        advise(cfg, out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()
