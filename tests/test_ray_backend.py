"""The Ray backend: the same job, run as a detached actor on a local Ray cluster, gives the local backend's scores."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from dlcore.jobs import PACKAGE_PARENT, RayBackend, max_jobs, start_run
from dlcore.runs import Run
from tests.test_runs import YOU, ME, small_data, weights

ray = pytest.importorskip("ray") if not os.environ.get("CI") else __import__("ray")  # CI installs and tests it


@pytest.fixture(scope="module")
def ray_cluster():
    ray.init(num_cpus=2, namespace="dlcore", include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": PACKAGE_PARENT}})
    yield
    ray.shutdown()
    RayBackend._actor = None


def start(root, backend: str, owner: str = ME) -> Run:
    from dlcore.architectures import resolve
    from dlcore.training import TrainConfig

    data = small_data()
    arch = resolve("chollet_small", data.x_train.shape[1], len(data.x_train))
    return start_run(data, arch, TrainConfig(epochs=4, patience=4), dataset="small.csv", owner=owner, root=root,
                     backend=backend)


def test_the_same_job_gives_the_same_scores_on_the_local_and_the_ray_backend(tmp_path, ray_cluster):
    local = start(tmp_path / "local", "local")  # the default: an ensemble, its members jobs like the run's
    assert local.wait(400) and local.status == "finished", local.error
    assert max_jobs("ray") == 2, "the limit follows the cluster's CPUs"
    on_ray = [start(tmp_path / "ray", "ray", owner) for owner in (ME, YOU)]
    for run in on_ray:
        assert run.wait(400) and run.status == "finished", run.error
        assert run.metrics["test"] == local.metrics["test"]
        assert run.history == local.history
        assert all(np.array_equal(a, b) for a, b in zip(weights(run), weights(local)))
        assert not (run.run_dir / "worker.log").exists(), "it ran in a Ray actor, not a local worker process"
    # the members spread over the cluster: two actors, one a CPU, each taking the next job as its own ends
    pids = {json.loads((member / "status.json").read_text())["pid"] for run in on_ray for member in run.member_dirs}
    assert len(pids) == 2
