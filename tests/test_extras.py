"""Optional dependencies: one map from module to pip extra, one error line naming the extra."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tailtune import _extras
from tailtune.errors import MissingExtraError

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]


def _missing(monkeypatch, absent: str) -> None:
    real = _extras.importlib.import_module

    def fake(name, *args, **kwargs):
        if name.split(".")[0] == absent:
            raise ModuleNotFoundError(f"No module named '{absent}'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(_extras.importlib, "import_module", fake)


@pytest.mark.parametrize(
    ("module", "extra"),
    [("onnxruntime.quantization", "export"), ("skops.io", "export"), ("fastapi", "serve"),
     ("cleanlab", "labels"), ("ray", "ray"), ("bitsandbytes", "gpu")],
)  # fmt: skip
def test_a_missing_module_names_the_extra_that_installs_it(monkeypatch, module, extra):
    _missing(monkeypatch, module.split(".")[0])
    with pytest.raises(MissingExtraError) as info:
        _extras.require(module, "the test")
    root = module.split(".")[0]
    assert str(info.value) == (
        f"{root} is needed for the test but is not installed: pip install 'tailtune[{extra}]'"
    )


def test_neural_modules_also_say_to_install_cpu_torch_first(monkeypatch):
    _missing(monkeypatch, "transformers")
    with pytest.raises(MissingExtraError, match=r"tailtune\[neural\]'.*torch==2.13.0 first"):
        _extras.require("transformers")


def _required_modules() -> set[str]:
    """The root module of every ``require("...")`` call with a literal name in src/."""
    found = set()
    for path in (ROOT / "src" / "tailtune").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "require"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add(node.args[0].value.split(".")[0])
    return found


def test_every_required_module_maps_to_an_extra_pyproject_defines():
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    modules = _required_modules()
    assert {"torch", "onnx", "fastapi", "skops"} <= modules  # the walk found the calls
    unmapped = sorted(m for m in modules if m not in _extras._EXTRA_OF)
    assert unmapped == []
    assert sorted({_extras._EXTRA_OF[m] for m in modules} - set(extras)) == []
