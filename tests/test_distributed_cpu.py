"""Data-parallel training on CPU through scripts/run_distribute_train_cpu.sh (msrun, 2 workers on 127.0.0.1)."""
import json
import os
import signal
import socket
import subprocess
import time

import numpy as np
import pytest
import mindspore as ms

from tests.conftest import ROOT, run_entry_point
from tests.test_scripts import script_env

FLAGS = ["--width_multiplier", "0.25", "--image_size", "32", "--num_samples", "128", "--batch_size", "16",
         "--epoch_size", "2", "--log_interval", "1", "--lr_max", "0.05", "--warmup_epochs", "0"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _text(path):
    return path.read_text(errors="replace") if path.exists() else ""


def _port_taken(run_dir):
    """msrun's scheduler found its port taken (the workers would wait out the 300 s cluster time-out)."""
    return "Address already in use" in _text(run_dir / "msrun_log" / "scheduler.log")


def _stop(proc):
    """Ctrl-C to the script's process group: msrun passes it on to its workers (each in a session of its own)."""
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(timeout=120)


def run_distributed(tmp_path, dataset_path, attempts=3):
    """scripts/run_distribute_train_cpu.sh with 2 workers on a free port -> (its run folder, exit code).

    The port is free when chosen but another process can take it before the scheduler binds it: then
    msrun is stopped (with Ctrl-C, which it forwards to its workers) and the run repeated on a new port.
    """
    for attempt in range(attempts):
        cwd = tmp_path / f"attempt_{attempt}"
        cwd.mkdir()
        run_dir = cwd / "train_parallel"
        proc = subprocess.Popen(["bash", os.path.join(ROOT, "scripts", "run_distribute_train_cpu.sh"), "cifar10",
                                 dataset_path, "2", *FLAGS], cwd=cwd, stdout=subprocess.DEVNULL,
                                env=script_env(FOREGROUND="1", MASTER_PORT=str(free_port())),
                                start_new_session=True)
        deadline = time.monotonic() + 600
        while proc.poll() is None:
            # msrun handles Ctrl-C once it waits for its workers
            if _port_taken(run_dir) and "Waiting all processes to exit" in _text(run_dir / "log.txt"):
                _stop(proc)
            elif time.monotonic() > deadline:
                _stop(proc)
                pytest.fail("the distributed run took more than 10 min")
            time.sleep(1)
        if not _port_taken(run_dir):
            return run_dir, proc.returncode
    pytest.fail(f"msrun found its port taken in {attempts} attempts")


def losses(folder):
    with open(os.path.join(folder, "metrics.jsonl"), encoding="utf-8") as f:
        return [r["loss"] for r in map(json.loads, f) if r["type"] == "step"]


def network_params(path):
    return {k: v.asnumpy() for k, v in ms.load_checkpoint(path).items() if k.startswith(("network.", "fc."))}


def test_two_workers_share_the_data_and_end_identical(tmp_path, cifar_dirs, stock_cifar_dir):
    """On the CIFAR-10 download's own folder: the ranks share the training file, never the test file."""
    run_dir, returncode = run_distributed(tmp_path, stock_cifar_dir)
    logs = {rank: _text(run_dir / "msrun_log" / f"worker_{rank}.log") for rank in (0, 1)}
    assert returncode == 0, _text(run_dir / "log.txt")[-2000:] + "\n".join(v[-2000:] for v in logs.values())
    for rank in (0, 1):
        assert f"[rank {rank}]" in logs[rank]
        assert f"rank {rank} reads shard {rank} of 2 of the training set (128 images per epoch)" in logs[rank]
        assert "training set: 10000 images from data_batch_1.bin in" in logs[rank]
        share = max(1, os.cpu_count() // 2)  # each of the 2 workers its share of the cores
        assert f"MindSpore CPU kernel threads: {share} (OpenMP threads: {share})" in logs[rank]
        assert "(test_batch.bin there not read)" in logs[rank]
    ranks = [str(run_dir / f"ckpt_{rank}") for rank in (0, 1)]
    # each rank computed its loss on its own shard (num_samples caps each shard at 128 images) ...
    assert len(losses(ranks[0])) == len(losses(ranks[1])) == 16
    assert losses(ranks[0]) != losses(ranks[1])
    # ... and the all-reduced updates left the ranks with bit-identical trainable weights; the BN
    # running statistics are each rank's own (not all-reduced), so they differ, as data did
    final = [network_params(os.path.join(r, "mobilenetv1-2_8.ckpt")) for r in ranks]
    assert final[0].keys() == final[1].keys()
    running = [k for k in final[0] if k.endswith(("moving_mean", "moving_variance"))]
    assert len(running) == 54
    for name in set(final[0]) - set(running):
        np.testing.assert_array_equal(final[0][name], final[1][name], err_msg=name)
    assert all(np.abs(final[0][k] - final[1][k]).max() > 0 for k in running[:2])

    alone = tmp_path / "single"
    single = run_entry_point("train.py", "--dataset_path", cifar_dirs[0], "--device_target", "CPU", *FLAGS,
                             "--save_checkpoint_path", alone, cwd=tmp_path)
    assert single.returncode == 0, single.stderr[-3000:]
    reference = network_params(str(alone / "mobilenetv1-2_8.ckpt"))
    assert max(np.abs(reference[k] - final[0][k]).max() for k in reference if k not in running) > 1e-3
