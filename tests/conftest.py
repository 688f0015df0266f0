"""Shared test fixtures (keep this file small)."""

import pathlib
import shutil

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture
def artifacts_dir(request):
    """A fresh ``test-artifacts/<test name>/`` (gitignored) for screenshots
    and logs that CI keeps."""
    path = ROOT / "test-artifacts" / request.node.name.replace("/", "_")
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path
