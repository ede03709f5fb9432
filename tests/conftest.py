"""Shared fixtures. Every test works in a throwaway DOCKERLEARN_HOME under /tmp (short, for the
108-byte socket limit) and shares the machine's seed cache, so debian is bootstrapped only once."""
from __future__ import annotations

import os
import shutil
import tempfile

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
    from dockerlearn.sandbox import Sandbox
    sb = Sandbox("pytest", quiet=True)
    sb.up()
    yield sb
    sb.destroy()


@pytest.fixture
def fresh_sandbox(sandbox):
    """The shared sandbox, reset to its freshly seeded state before the test."""
    sandbox.reset()
    return sandbox


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(TEST_HOME, ignore_errors=True)
