"""Every test gets its own slice cache folder, so no test reads slices another test (or a user run) wrote."""

import pytest

from medvision_tasks.volumes import CACHE_DIR_ENV


@pytest.fixture(autouse=True)
def _private_slice_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path_factory.mktemp("slice-cache")))
