"""The Ray executor on a real local Ray (2 CPUs): same table as sequential; a crash fails one run."""

from __future__ import annotations

import pytest
from conftest import TRAINER

from tailtune.experiments import ray_resources, run_experiment
from tailtune.runs import read_run

pytestmark = pytest.mark.ray


def _table(result):
    return {
        (c["label"], r["seed"]): read_run(r["run_dir"]).metrics["val"]["macro_f1"]
        for c in result.record["result"]["cells"]
        for r in c["runs"]
    }


def test_ray_executor_matches_sequential_and_survives_a_crash(write_exp):
    pytest.importorskip("ray")
    seq = run_experiment(write_exp("seq", seeds=[1, 2]), trainer=TRAINER)
    # batch size 7 kills its worker process (fake trainer): those runs fail, the others finish
    exp = write_exp("ray", seeds=[1, 2], vary={"train.batch_size": [32, 4, 7]}, executor="ray")
    ray = run_experiment(exp, trainer=TRAINER, workers=2)  # tailtune starts and stops Ray
    assert _table(ray) == _table(seq)
    assert len(ray.executed) == 4 and len(ray.failed) == 2
    assert all(e.startswith("ray task failed") for e in ray.failed.values())
    verdicts = [c["verdict"] for c in ray.record["meaningful"]["comparisons"]]
    assert verdicts == [seq.record["meaningful"]["comparisons"][0]["verdict"]] == ["meaningful"]


@pytest.mark.unit
def test_ray_resources_follow_the_config():
    cpu = {"model": {"backend": "tfidf"}, "train": {"device": "auto", "num_threads": None}}
    assert ray_resources(cpu, cluster_gpus=4) == {"num_cpus": 1.0, "num_gpus": 0.0}
    enc = {"model": {"backend": "encoder"}, "train": {"device": "auto", "num_threads": 4}}
    assert ray_resources(enc, cluster_gpus=0) == {"num_cpus": 4.0, "num_gpus": 0.0}
    assert ray_resources(enc, cluster_gpus=1) == {"num_cpus": 4.0, "num_gpus": 1.0}
    forced = {"model": {"backend": "tfidf"}, "train": {"device": "cuda"}}
    assert ray_resources(forced)["num_gpus"] == 1.0
