"""Where the bundled files live, found through importlib.resources.

An installed wheel carries them inside the package (warroom/_styles, warroom/_sample_data:
pyproject's force-include copies styles/ and sample_data/ there). A checkout, installed
editable, has them at the top of the tree, beside the package. The packaged copy is looked
for first, so an installed warroom never picks up some other project's styles/ folder.

They are handed out as real paths: Textual reads its stylesheet from a file, the demo copies
the runbooks, and messages name the file they read. A warroom imported from a zip file has
no such paths, and is refused with a clear message.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _package_dir() -> Path:
    root = files("warroom")
    if not isinstance(root, Path):
        raise FileNotFoundError("warroom's bundled files need the package on the file system "
                                "(it was imported from an archive)")
    return root


def _bundled(name: str) -> Path:
    package = _package_dir()
    for candidate in (package / f"_{name}", package.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"warroom's {name}/ folder is missing from this installation")


def styles_dir() -> Path:
    return _bundled("styles")


def sample_data_dir() -> Path:
    return _bundled("sample_data")
