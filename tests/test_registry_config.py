"""The registry's config.yml is written with yaml.safe_dump: any path survives, and the real
docker-registry reads it (its storage lands where the config says)."""
from __future__ import annotations

import shutil
import subprocess
import time
import urllib.error
import urllib.request

import pytest
import yaml

from dockerlearn.sandbox import procs
from dockerlearn.sandbox.registry import write_config

AWKWARD = "home: of #1 'learner' \"x\""  # ": " and " #" broke the f-string version


def test_awkward_paths_round_trip(tmp_path):
    folder = tmp_path / AWKWARD / "registry"
    storage = folder / "storage"
    storage.mkdir(parents=True)
    cfg = write_config(folder, storage, 5123, "svc", "stud")
    data = yaml.safe_load(cfg.read_text())
    assert data["storage"]["filesystem"]["rootdirectory"] == str(storage)
    assert data["auth"]["htpasswd"]["path"] == str(folder / "htpasswd")
    assert data["http"]["addr"] == "127.0.0.1:5123"
    assert data["storage"]["delete"]["enabled"] is True
    assert data["log"]["accesslog"]["disabled"] is True
    assert str(data["version"]) == "0.1"


@pytest.mark.skipif(not shutil.which("docker-registry"), reason="needs Debian's docker-registry")
def test_docker_registry_serves_from_an_awkward_path(tmp_path):
    folder = tmp_path / AWKWARD / "registry"
    storage = folder / "storage"
    storage.mkdir(parents=True)
    port = procs.free_port()
    cfg = write_config(folder, storage, port, "svc", "stud")
    proc = subprocess.Popen(["docker-registry", "serve", str(cfg)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        status = None
        while time.monotonic() < deadline and status is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
                status = 200
            except urllib.error.HTTPError as e:
                status = e.code
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()
                time.sleep(0.05)
        assert status == 401, f"registry answered {status}"  # up, and the htpasswd path was found
    finally:
        proc.terminate()
        proc.wait(timeout=10)
