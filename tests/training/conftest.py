import pytest


@pytest.fixture(scope="session")
def world():
    from tailsynth.world import load_world

    return load_world()
