"""Where the bundled files live: styles/ and sample_data/ at the top of a checkout, or inside
the package (warroom/_styles, warroom/_sample_data) in an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def styles_dir() -> Path:
    for candidate in (_PACKAGE.parent / "styles", _PACKAGE / "_styles"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("warroom's styles/ folder is missing from this installation")


def sample_data_dir() -> Path:
    for candidate in (_PACKAGE.parent / "sample_data", _PACKAGE / "_sample_data"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("warroom's sample_data/ folder is missing from this installation")
