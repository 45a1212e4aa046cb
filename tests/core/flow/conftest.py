"""One torch thread for the flow tests: tiny tensors run fastest on one thread, and a
busy 2-core machine then costs the tests no thread contention."""

from __future__ import annotations

import pytest

from napari_elephant.core.training.device import cpu_threads


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with cpu_threads(1):
        yield
