"""Shared fixtures: the bundled sample village and small synthetic villages."""

import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample_village"


@pytest.fixture(scope="session")
def sample_path():
    return SAMPLE


@pytest.fixture(scope="session")
def sample_village():
    from cxinfluence import load_village

    return load_village(SAMPLE, warn=False)


@pytest.fixture(scope="session")
def small_synthetic(tmp_path_factory):
    """A small synthetic village written to disk: (path, village, truth)."""
    from cxinfluence.village.synth import make_village, write_synthetic

    village, truth = make_village(40, seed=11)
    path = tmp_path_factory.mktemp("synthetic") / "village"
    write_synthetic(village, truth, path)
    return path, village, truth


@pytest.fixture
def quiet_degenerate_fits():
    """Silence DegenerateFitWarning (tests that expect one use pytest.warns)."""
    from cxinfluence.exceptions import DegenerateFitWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateFitWarning)
        yield


@pytest.fixture(scope="session", autouse=True)
def _private_config_home(tmp_path_factory):
    """Anonymisation keys made during the tests go to a temporary config folder, not ~/.config."""
    import os

    old = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("config"))
    yield
    if old is None:
        os.environ.pop("XDG_CONFIG_HOME", None)
    else:
        os.environ["XDG_CONFIG_HOME"] = old
