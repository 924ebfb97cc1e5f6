"""No test reads or writes the user's cache: slices and loaded docs go to temporary folders.

The session folder covers module- and session-scoped fixtures (which run before any test's own
fixtures); every test then gets a folder of its own, so no test reads what another one cached.
"""

import os

import pytest

from medvision_tasks.volumes import CACHE_DIR_ENV


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory):
    before = os.environ.get(CACHE_DIR_ENV)
    os.environ[CACHE_DIR_ENV] = str(tmp_path_factory.mktemp("session-cache"))
    yield
    if before is None:
        os.environ.pop(CACHE_DIR_ENV, None)
    else:
        os.environ[CACHE_DIR_ENV] = before


@pytest.fixture(autouse=True)
def _private_slice_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path_factory.mktemp("slice-cache")))
