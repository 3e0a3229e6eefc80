"""``tailtune config``: show the resolved config, with every field's doc and default."""

from __future__ import annotations

import typer

from tailtune.cli._common import ConfigArg, RecipeOpt, SetOpt, command, resolve_config
from tailtune.cli._print import console

app = typer.Typer(help="Show resolved configs and what every field means.", no_args_is_help=True)


@command(app, "show", "The resolved config as YAML with each field's doc and default.")
def config_show(
    config: ConfigArg = None,
    recipe: RecipeOpt = None,
    set_: SetOpt = None,
) -> None:
    """The resolved config as YAML, each field with its one-line doc and its default.

    Examples:
    tailtune config show
    tailtune config show configs/cfpb-tfidf.yaml --set train.lr=3e-5
    tailtune config show --recipe cpu-longtail > my-run.yaml
    """
    from tailtune.config_docs import commented_yaml

    cfg = resolve_config(config, recipe, set_, what="config show")
    source = f"recipe {recipe}" if recipe else str(config) if config else "the defaults"
    header = [f"tailtune config show: {source}" + (f", --set {' '.join(set_)}" if set_ else "")]
    console.print(commented_yaml(cfg, header=header), end="", soft_wrap=True)
