"""Shared fixtures: the real data folder and the built-in synthetic sample."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _find_shared_data() -> Path | None:
    env = os.environ.get("BANDUNG_MAPPING_SHARED_DATA")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve().parent.parent
    candidates += [here.parent / "shared" / "data" / "bandung"]
    for c in candidates:
        if c.is_dir():
            return c
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data folder ``../shared/data/bandung`` (or ``$BANDUNG_MAPPING_SHARED_DATA``).

    Skips when absent, except under CI (``CI=true``), where a missing folder fails.
    Sibling cities (e.g. Daegu) are reached as ``shared_data.parent / "daegu"``.
    """
    found = _find_shared_data()
    if found is None:
        msg = "real data folder ../shared/data/bandung not found (set BANDUNG_MAPPING_SHARED_DATA)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return found


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic sample's files, written once per test session."""
    from bandung_mapping import sample

    folder = tmp_path_factory.mktemp("sample")
    sample.write_sample(folder)
    return folder


@pytest.fixture(scope="session")
def sample_study(sample_dir: Path):
    """The sample loaded as a StudyArea through the same loaders as real data."""
    from bandung_mapping import sample

    return sample.load_sample(sample_dir)


@pytest.fixture(scope="session")
def sample_truth(sample_dir: Path) -> dict:
    """Ground truth of the sample, known by construction."""
    from bandung_mapping import sample

    return sample.sample_truth(sample_dir)
