"""Finding loaders by name, and the errors every loader shares."""

from __future__ import annotations

from pathlib import Path

import pytest

from lumen.documents import DRUGS, KNOWLEDGE, REGULATORY
from lumen.errors import InputError
from lumen.ingest.loaders import LOADERS, get_loader

from .conftest import Problems


def test_known_loaders() -> None:
    assert LOADERS == ("medquad", "pubmedqa", "drugs", "regulatory", "files")
    expected = {
        "medquad": ("medquad", KNOWLEDGE, "medquad"),
        "pubmedqa": ("pubmedqa", KNOWLEDGE, "pubmedqa"),
        "drugs": ("openfda", DRUGS, "drugs"),
        "regulatory": ("regulatory", REGULATORY, "regulatory"),
        "files": ("files", KNOWLEDGE, ""),
    }
    for name, (source, collection, subpath) in expected.items():
        loader = get_loader(name)
        assert (loader.name, loader.default_collection, loader.default_subpath) == (
            source,
            collection,
            subpath,
        )
        assert loader.sources
    assert get_loader("regulatory").sources == ("fda", "crl")
    assert type(get_loader("openfda")) is type(get_loader("drugs"))


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(InputError, match="unknown source 'nope': use one of medquad, pubmedqa"):
        get_loader("nope")


def test_unknown_option_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no option colour: it takes include_questions"):
        get_loader("medquad", colour="red")
    with pytest.raises(InputError, match="it takes no options"):
        get_loader("regulatory", include_questions=False)
    assert get_loader("medquad", include_questions=False).include_questions is False  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", LOADERS)
def test_a_missing_path_is_one_line_input_error(name: str, tmp_path: Path) -> None:
    with pytest.raises(InputError) as raised:
        list(get_loader(name).load(tmp_path / "missing", collection="c", report=Problems()))
    assert str(raised.value) == f"{tmp_path / 'missing'}: no such file or folder"


@pytest.mark.parametrize("name", LOADERS)
def test_an_empty_folder_yields_nothing(name: str, tmp_path: Path) -> None:
    problems = Problems()
    assert list(get_loader(name).load(tmp_path, collection="c", report=problems)) == []
    assert problems == []
