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


def _bpy_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bpy")
    except PackageNotFoundError:
        return None


def pytest_report_header(config):
    return f"bpy: {_bpy_version() or 'not installed (the Blender tests skip)'}"


def pytest_terminal_summary(terminalreporter):
    """Name the Blender version on failures of the Blender tests, so a version-specific failure says which."""
    failed = [r.nodeid for r in terminalreporter.stats.get("failed", []) + terminalreporter.stats.get("error", [])
              if "bpy" in r.keywords]
    if failed:
        terminalreporter.write_line(f"FAILED on bpy {_bpy_version()}: " + ", ".join(failed), red=True)


_STATUS = {}


def pytest_sessionfinish(session, exitstatus):
    _STATUS["code"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """bpy 4.x crashes in its own teardown at interpreter exit once Rigify has been enabled (4.2 and 4.5), or
    once a property with a Python callback (a dynamic enum, a pointer poll) was registered and unregistered
    (4.2): Blender bugs, not ours (the install-and-capture script ends the same way). After the report is
    written, leave with pytest's own code."""
    if "bpy" in sys.modules and (_bpy_version() or "5").split(".")[0] == "4":
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_STATUS.get("code", 0))
