"""The folder for what this repository caches between runs (built kernels, image checks).

``$MOBILENETV1_CACHE``, else ``$XDG_CACHE_HOME/mobilenetv1``, else ``~/.cache/mobilenetv1``; when that
folder cannot be created or written (a read-only home), a folder under the system's temporary one.
"""
import os
import tempfile

ENV_VAR = "MOBILENETV1_CACHE"


def _writable(folder):
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK | os.X_OK)


def cache_dir(sub=""):
    """An existing, writable cache folder (``sub`` inside it), or None when even the fallback is not."""
    base = os.environ.get(ENV_VAR) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "mobilenetv1")
    fallback = os.path.join(tempfile.gettempdir(), f"mobilenetv1-cache-{os.getuid()}")
    for folder in (os.path.join(base, sub), os.path.join(fallback, sub)):
        if _writable(folder):
            return folder
    return None
