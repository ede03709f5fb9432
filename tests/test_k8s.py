"""deploy/k8s: the Zero to JupyterHub values render to valid Kubernetes objects, and the single-user
image builds in a sandbox.

Helm values are not Kubernetes objects, and the chart's values schema is not available offline, so
the pod and the volume claim are rendered the way the chart does it: the singleuser values are mapped
onto KubeSpawner's traits with the chart's own table (its jupyterhub_config.py), and KubeSpawner's
get_pod_manifest() / get_pvc_manifest() make the objects, which kubernetes-validate checks strictly
against the schemas of the oldest Kubernetes the chart supports. A singleuser key this mapping does
not know fails the test instead of going unchecked.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
K8S = REPO / "deploy" / "k8s"
KUBE_VERSION = "1.32.0"  # the chart's kubeVersion: ">=1.32.0-0"

# singleuser.<key> → KubeSpawner trait, as in the chart's jupyterhub_config.py (the keys used here).
TRAITS = {"uid": "uid", "fsGid": "fs_gid", "allowPrivilegeEscalation": "allow_privilege_escalation",
          "cmd": "cmd", "extraPodConfig": "extra_pod_config", "extraAnnotations": "extra_annotations",
          "extraEnv": "environment", "memory.limit": "mem_limit", "memory.guarantee": "mem_guarantee",
          "cpu.limit": "cpu_limit", "cpu.guarantee": "cpu_guarantee", "startTimeout": "start_timeout",
          "extraResource.limits": "extra_resource_limits",
          "extraResource.guarantees": "extra_resource_guarantees", "image.pullPolicy": "image_pull_policy"}
# Handled by hand below, or rendered by the chart as objects of its own (NetworkPolicy) or not at all.
OTHER = {"image.name", "image.tag", "storage.type", "storage.capacity", "storage.homeMountPath",
         "cloudMetadata.blockWithIptables", "networkPolicy.enabled",
         "networkPolicy.egressAllowRules.cloudMetadataServer", "networkPolicy.egressAllowRules.nonPrivateIPs",
         "networkPolicy.egressAllowRules.privateIPs"}
# The chart's defaults for the storage keys this file leaves unset.
VOLUME = "volume-{user_server}"


def leaves(tree: dict, prefix: str = "", stop=("extraPodConfig", "extraAnnotations", "extraEnv",
                                                "extraResource.limits", "extraResource.guarantees")) -> dict:
    """key.path → value; free-form maps (pod config, env) are one leaf each."""
    out = {}
    for k, v in tree.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict) and path not in stop:
            out.update(leaves(v, path + ".", stop))
        else:
            out[path] = v
    return out


# KubeSpawner loads a client configuration when it is made; this one names a cluster that is never
# contacted (rendering manifests makes no API call).
KUBECONFIG = {"apiVersion": "v1", "kind": "Config", "current-context": "none",
              "clusters": [{"name": "none", "cluster": {"server": "https://127.0.0.1:9"}}],
              "contexts": [{"name": "none", "context": {"cluster": "none", "user": "none"}}],
              "users": [{"name": "none", "user": {"token": "unused"}}]}


@pytest.fixture(scope="module")
def values(tmp_path_factory):
    config = tmp_path_factory.mktemp("kube") / "config"
    config.write_text(yaml.safe_dump(KUBECONFIG))
    saved = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = str(config)
    yield yaml.safe_load((K8S / "values.yaml").read_text())
    if saved is None:
        os.environ.pop("KUBECONFIG", None)
    else:
        os.environ["KUBECONFIG"] = saved


def spawner_for(values: dict):
    from kubespawner import KubeSpawner
    from traitlets.config import Config
    single = leaves(values["singleuser"])
    unknown = set(single) - set(TRAITS) - OTHER
    assert not unknown, f"singleuser keys this test does not render: {sorted(unknown)}"
    c = Config()
    for key, trait in TRAITS.items():
        if key in single:
            setattr(c.KubeSpawner, trait, single[key])
    c.KubeSpawner.image = f"{single['image.name']}:{single['image.tag']}"
    assert single["storage.type"] == "dynamic"
    c.KubeSpawner.storage_pvc_ensure = True
    c.KubeSpawner.storage_capacity = single["storage.capacity"]
    c.KubeSpawner.storage_access_modes = ["ReadWriteOnce"]
    c.KubeSpawner.volumes = {VOLUME: {"name": VOLUME, "persistentVolumeClaim": {"claimName": "{pvc_name}"}}}
    c.KubeSpawner.volume_mounts = {VOLUME: {"mountPath": single["storage.homeMountPath"], "name": VOLUME}}
    if single.get("cloudMetadata.blockWithIptables"):
        raise AssertionError("the chart's metadata blocker is a privileged init container")
    return KubeSpawner(config=c, _mock=True)


def rendered(values: dict) -> tuple[dict, dict]:
    """The student's pod and volume claim, as plain dicts (what the API server would receive)."""
    from kubernetes_asyncio.client import ApiClient

    async def render():
        spawner = spawner_for(values)  # KubeSpawner makes its API client in the running loop
        pod, pvc = await spawner.get_pod_manifest(), spawner.get_pvc_manifest()
        async with ApiClient() as api:
            return api.sanitize_for_serialization(pod), api.sanitize_for_serialization(pvc)

    return asyncio.run(render())


def test_values_render_to_a_valid_pod_and_claim(values):
    kv = pytest.importorskip("kubernetes_validate")
    pytest.importorskip("kubespawner")
    pod, pvc = rendered(values)
    for obj in (pod, pvc):
        kv.validate(obj, KUBE_VERSION, strict=True)  # raises ValidationError on any mistake
    spec = pod["spec"]
    assert spec["runtimeClassName"] == "sysbox-runc"
    assert pod["metadata"]["annotations"]["io.kubernetes.cri-o.userns-mode"].startswith("auto:")
    containers = spec["containers"] + spec.get("initContainers", [])
    assert not any((c.get("securityContext") or {}).get("privileged") for c in containers), \
        "no container of the student's pod is privileged"
    notebook = spec["containers"][0]
    env = {e["name"]: e.get("value") for e in notebook["env"]}
    assert env["DOCKERLEARN_CACHE"] == "/opt/dockerlearn/cache" and env["DOCKERLEARN_HOME"].startswith("/var/lib/docker/")
    # KubeSpawner passes singleuser.cmd (and its own flags) as the container's args: the image must
    # have no ENTRYPOINT, so that they are the command.
    assert notebook["args"][0] == "/usr/local/bin/dockerlearn-singleuser" and "command" not in notebook
    assert "ENTRYPOINT" not in (K8S / "Dockerfile").read_text()
    assert notebook["resources"]["requests"]["memory"] and notebook["resources"]["limits"]["ephemeral-storage"]
    assert pvc["spec"]["resources"]["requests"]["storage"] == values["singleuser"]["storage"]["capacity"]


def test_a_broken_pod_is_caught(values):
    """The validation can fail: a typo in a pod field is refused."""
    kv = pytest.importorskip("kubernetes_validate")
    pytest.importorskip("kubespawner")
    pod, _ = rendered(values)
    pod["spec"]["runtimeClasName"] = pod["spec"].pop("runtimeClassName")
    with pytest.raises(kv.ValidationError):
        kv.validate(pod, KUBE_VERSION, strict=True)


def test_unrendered_keys_fail_the_test(values):
    pytest.importorskip("kubespawner")
    broken = yaml.safe_load(yaml.safe_dump(values))
    broken["singleuser"]["extraContainers"] = [{"name": "dind", "image": "docker:dind"}]
    with pytest.raises(AssertionError, match="extraContainers"):
        spawner_for(broken)


def test_hub_section_uses_the_charts_names(values):
    """The hub keys the chart passes straight to JupyterHub's configuration."""
    cfg = values["hub"]["config"]
    assert cfg["JupyterHub"]["authenticator_class"] == "native"
    assert "teacher" in cfg["JupyterHub"]["load_groups"]["teachers"]["users"]
    assert set(values) <= {"hub", "singleuser", "scheduling", "prePuller", "cull", "proxy", "ingress"}


def test_scripts_are_valid_shell():
    for script in ("dockerlearn-singleuser", "prepare-context"):
        path = K8S / script
        assert os.access(path, os.X_OK), f"{script} is not executable"
        subprocess.run(["sh", "-n", str(path)], check=True)


@pytest.mark.daemon
def test_single_user_image_builds_in_the_sandbox(fresh_sandbox, tmp_path):
    """The OFFLINE=1 variant (no apt-get, no pip: the sandbox has no network) builds from the
    sandbox's seeded debian:bookworm. It proves the Dockerfile, the build context that prepare-context
    makes, the bundle's sha256 check inside the image and the resulting layout; not the apt and pip
    steps, which need Debian's mirror and PyPI."""
    ctx = tmp_path / "ctx"
    env = {**os.environ, "DOCKERLEARN": f"{sys.executable} -m dockerlearn"}
    made = subprocess.run([str(K8S / "prepare-context"), str(ctx)], capture_output=True, text=True, env=env,
                          cwd=str(REPO), timeout=300)
    assert made.returncode == 0, made.stderr
    assert {p.name for p in ctx.iterdir()} == {"Dockerfile", "dockerlearn-singleuser", "dockerlearn-src.tar",
                                               "classroom-bundle.tar"}
    build = fresh_sandbox.run(["docker", "build", "-q", "--build-arg", "OFFLINE=1", "-t", "dl-singleuser:test",
                               str(ctx)], timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    probe = ("test -f /opt/dockerlearn/src/dockerlearn/cli.py && test -f /opt/dockerlearn/src/notebooks/02-tag.ipynb"
             " && ls /opt/dockerlearn/cache/seeds/*/image.json /opt/dockerlearn/cache/seeds/*/*/image.json"
             " && sh -n /usr/local/bin/dockerlearn-singleuser && echo DOCKERLEARN_CACHE=$DOCKERLEARN_CACHE")
    run = fresh_sandbox.run(["docker", "run", "--rm", "dl-singleuser:test", "sh", "-c", probe])
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("image.json") >= 3 and "DOCKERLEARN_CACHE=/opt/dockerlearn/cache" in run.stdout
    # The check inside the image can fail: one flipped byte in the bundle stops the build.
    bundle_file = ctx / "classroom-bundle.tar"
    with open(bundle_file, "r+b") as f:
        f.seek(bundle_file.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0x01]))
    bad = fresh_sandbox.run(["docker", "build", "-q", "--build-arg", "OFFLINE=1", "-t", "dl-singleuser:bad",
                             str(ctx)], timeout=600)
    assert bad.returncode != 0 and "FAILED" in bad.stdout + bad.stderr, bad.stdout + bad.stderr


def test_python_in_the_scripts_names_what_the_package_has():
    """The pod's command runs `python3 -c '...'`; a module renamed in the package (learner_notebooks
    left cli.py for lab.py once) breaks it only inside a pod, so every import there is resolved here."""
    import importlib
    import re
    found = 0
    for script in sorted(K8S.iterdir()):
        for module, names in re.findall(r"from (dockerlearn[\w.]*) import ([\w, ]+)", script.read_text()):
            for name in names.split(","):
                found += 1
                assert hasattr(importlib.import_module(module), name.strip()), f"{script.name}: {module}.{name.strip()}"
    assert found, "no python import found in deploy/k8s: the test reads nothing"
