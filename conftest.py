"""Shared fixtures. Every test works in a throwaway DOCKERLEARN_HOME under /tmp (short, for the
108-byte socket limit) and shares the machine's seed cache, so debian is bootstrapped only once."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from dockerlearn import paths

# Decided at import time so that every subprocess (CLI, nbval kernels) inherits it.
os.environ.setdefault("DOCKERLEARN_CACHE", str(paths.cache_dir()))
TEST_HOME = tempfile.mkdtemp(prefix="dlt-", dir="/tmp")
os.environ["DOCKERLEARN_HOME"] = TEST_HOME
os.environ["DOCKERLEARN_NAME"] = "pytest"


@pytest.fixture(scope="session")
def sandbox():
    """One sandbox for the whole run: started once, destroyed at the end."""
    from dockerlearn.sandbox.lifecycle import Sandbox
    with Sandbox("pytest", quiet=True, destroy_on_exit=True) as sb:
        yield sb


@pytest.fixture
def fresh_sandbox(sandbox):
    """The shared sandbox, reset to its freshly seeded state before the test."""
    sandbox.reset()
    return sandbox


# A test that uses one of these starts a real sandbox daemon: it is a `daemon` test whatever
# its module says, so `pytest -m "not daemon"` runs as an ordinary user and starts nothing.
DAEMON_FIXTURES = {"sandbox", "fresh_sandbox", "make_sandbox", "shell", "gw", "lab"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _notebook_of(item) or DAEMON_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.daemon)


def _notebook_of(item):
    """The .ipynb an nbval cell item belongs to, or None for ordinary tests."""
    path = str(getattr(item, "fspath", ""))
    return path if path.endswith(".ipynb") else None


_reset_for: set = set()


def pytest_runtest_setup(item):
    # Each notebook starts on a freshly seeded sandbox, as when it was built.
    nb = _notebook_of(item)
    if nb and nb not in _reset_for:
        _reset_for.add(nb)
        sb = item.session._dockerlearn_sandbox if hasattr(item.session, "_dockerlearn_sandbox") else None
        if sb is None:
            from dockerlearn.sandbox.lifecycle import Sandbox
            sb = item.session._dockerlearn_sandbox = Sandbox("pytest", quiet=True)
        sb.reset(clear_work=True)


def pytest_sessionfinish(session, exitstatus):
    sb = getattr(session, "_dockerlearn_sandbox", None)
    if sb is not None:
        sb.destroy()
    # Any other sandbox a test started in this home (by name, through the CLI or a notebook's
    # kernel): removing the home under a running daemon would leave it orphaned.
    from dockerlearn.errors import DockerlearnError
    from dockerlearn.sandbox.lifecycle import Sandbox
    for state in sorted(Path(TEST_HOME).glob("sandboxes/*/sandbox.json")):
        try:
            Sandbox(state.parent.name, quiet=True).destroy()
        except (DockerlearnError, OSError) as e:
            print(f"conftest: could not destroy sandbox {state.parent.name}: {e}")
    shutil.rmtree(TEST_HOME, ignore_errors=True)
