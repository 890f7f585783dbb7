"""Finding the bundled files in a checkout and in an installed wheel."""

from __future__ import annotations

from pathlib import Path

import pytest

from warroom import resources

from .conftest import REPO


def test_a_checkout_uses_the_folders_at_the_top_of_the_tree() -> None:
    assert resources.styles_dir() == REPO / "styles"
    assert resources.sample_data_dir() == REPO / "sample_data"
    assert (resources.styles_dir() / "warroom.tcss").is_file()


def test_an_installed_package_uses_its_own_copy_first(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "site-packages" / "warroom"
    (package / "_styles").mkdir(parents=True)
    (tmp_path / "site-packages" / "styles").mkdir()  # some other project's folder
    monkeypatch.setattr(resources, "_package_dir", lambda: package)
    assert resources.styles_dir() == package / "_styles"
    with pytest.raises(FileNotFoundError, match="sample_data/ folder is missing"):
        resources.sample_data_dir()
