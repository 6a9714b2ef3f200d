import os
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # the helper modules beside the tests (footage, mocap_fixture)

SHARED_DATA = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))


@pytest.fixture(scope="session")
def cmu_file():
    """The shared CMU training file, beside the checkout (skips where it is absent)."""
    path = os.path.join(SHARED_DATA, "cmu_positions.npz")
    if not os.path.exists(path):
        pytest.skip("shared training data not beside this checkout")
    return path


@pytest.fixture(scope="session", autouse=True)
def _blender_home():
    """Keep headless Blender from writing into the home directory."""
    home = tempfile.mkdtemp(prefix="vm-blender-")
    for var in ("BLENDER_USER_RESOURCES", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        os.environ.setdefault(var, home)
    yield
