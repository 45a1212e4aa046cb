"""Fixtures shared by the job-runner tests."""

from __future__ import annotations

import pytest

from tests._napari.job_helpers import ManualLauncher


@pytest.fixture
def manual() -> ManualLauncher:
    return ManualLauncher()


@pytest.fixture
def told() -> list[str]:
    return []
