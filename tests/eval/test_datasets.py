"""Dataset readers: valid files load; a bad record is named with its field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lumen.errors import InputError
from lumen_lab.eval.datasets import (
    data_hash,
    load_mc_jsonl,
    load_mirage,
    load_pqal,
    load_retrieval,
)


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_mirage_loads_a_subset_and_all(mirage_file: Path) -> None:
    medqa = load_mirage(mirage_file, "medqa")
    assert [i.id for i in medqa] == ["q1", "q2", "q3", "q4", "q5"]
    assert medqa[0].answer == "B"
    assert medqa[0].subtask == "medqa"
    everything = load_mirage(mirage_file)
    assert everything[-1].id == "bioasq/b1"


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"options": {"A": "x", "B": "y"}, "answer": "A"}, "question"),
        ({"question": "q?", "options": {"A": "x"}, "answer": "A"}, "options"),
        ({"question": "q?", "options": {"A": "x", "B": "y"}, "answer": "E"}, "answer"),
        ({"question": "q?", "options": {"A": "x", "B": ""}, "answer": "A"}, "options.B"),
    ],
)
def test_mirage_bad_record_names_record_and_field(
    tmp_path: Path, item: dict[str, object], field: str
) -> None:
    good = {"question": "ok?", "options": {"A": "x", "B": "y"}, "answer": "A"}
    path = _write(tmp_path / "bad.json", {"medqa": {"1": good, "2": item, "3": item}})
    with pytest.raises(InputError) as error:
        load_mirage(path, "medqa")
    message = str(error.value)
    assert "record 'medqa/2'" in message
    assert f"field '{field}'" in message


def test_mirage_unknown_subset_and_not_json(tmp_path: Path, mirage_file: Path) -> None:
    with pytest.raises(InputError, match="no task 'mmlu'"):
        load_mirage(mirage_file, "mmlu")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        load_mirage(broken)


def test_another_format_is_named(tmp_path: Path) -> None:
    pqal = {"123": {"QUESTION": "Q?", "CONTEXTS": ["c"], "final_decision": "yes"}}
    path = _write(tmp_path / "pqal.json", pqal)
    with pytest.raises(InputError, match=r"not in the MIRAGE format.*record '123'.*'question'"):
        load_mirage(path, "medqa")


def test_mc_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"id": "x", "question": "Q?", "options": ["yes", "no"], "answer": 1}\n'
        '{"question": "Q2?", "options": {"A": "a", "B": "b"}, "answer": "C"}\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="record 'line 2': field 'answer'"):
        load_mc_jsonl(path)


def test_pqal_bad_decision(tmp_path: Path) -> None:
    record = {"QUESTION": "Q?", "CONTEXTS": ["c"], "final_decision": "yes"}
    path = _write(tmp_path / "p.json", {"1": record, "2": {**record, "final_decision": "perhaps"}})
    with pytest.raises(InputError, match="record '2': field 'final_decision'"):
        load_pqal(path)
    ok = load_pqal(_write(tmp_path / "ok.json", {"1": record}))
    assert ok[0].decision == "yes"
    assert ok[0].contexts == ("c",)


def test_qrels_and_queries(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "qrels.txt").write_text("# judged\nq1 0 d1 1\nq1 0 d2 2\nq2 0 d9 0\n")
    (folder / "queries.tsv").write_text("q1\tWhat is glaucoma?\nq2\tUnjudged?\n")
    queries = load_retrieval(folder)
    assert [q.id for q in queries] == ["q1"]  # q2 has no relevant document
    assert queries[0].qrels == {"d1": 1, "d2": 2}
    (folder / "qrels.txt").write_text("q1 0 d1\n")
    with pytest.raises(InputError, match=r"line 1: expected 'qid 0 docid relevance'"):
        load_retrieval(folder)
    (folder / "qrels.txt").write_text("q1 0 d1 high\n")
    with pytest.raises(InputError, match="field 'relevance'"):
        load_retrieval(folder)
    (folder / "qrels.txt").write_text("q1 0 d1 1\n")
    (folder / "queries.tsv").write_text("q1 What is glaucoma?\n")
    with pytest.raises(InputError, match="expected 'qid<TAB>question'"):
        load_retrieval(folder)


def test_data_hash_of_files_and_folders(tmp_path: Path, mirage_file: Path) -> None:
    assert data_hash(mirage_file) == data_hash(mirage_file)
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "a.txt").write_text("1")
    first = data_hash(folder)
    (folder / "a.txt").write_text("2")
    assert data_hash(folder) != first
