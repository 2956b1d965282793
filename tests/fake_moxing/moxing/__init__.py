"""Test stand-in for ModelArts' moxing library: only the ``moxing.file`` calls this project uses,
backed by the local file system (OBS paths are plain folders here)."""
from moxing import file  # noqa: F401
