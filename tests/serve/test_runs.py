"""Finding runs under --runs and reading metrics.jsonl while a run writes it (ganforge.serve.runs)."""

import json

from ganforge.serve.runs import MetricsLog, RunIndex, find_runs


def make_run(path, steps: int = 10):
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({"train": {"steps": steps}}))
    return path


def test_runs_are_found_by_their_config_with_stable_unique_ids(tmp_path):
    root = tmp_path / "runs"
    a = make_run(root / "exp 1" / "DCGAN")
    b = make_run(root / "exp-1" / "dcgan")  # the same slug as the first: a suffix keeps ids unique
    c = make_run(root / "solo")
    make_run(root / "solo" / "checkpoints" / "inner")  # inside a run: not a run of its own
    make_run(root / ".hidden" / "x")
    make_run(root / "a" / "b" / "c" / "too-deep")
    (root / "link").symlink_to(a, target_is_directory=True)  # links are not followed
    found = find_runs(root)
    assert found == {"exp-1-dcgan": a, "exp-1-dcgan-2": b, "solo": c}
    assert find_runs(root) == found  # the same ids on every scan
    assert find_runs(c) == {"solo": c}  # --runs may name one run


def test_metrics_are_read_incrementally_and_a_rewritten_log_from_the_start(tmp_path):
    path = tmp_path / "metrics.jsonl"
    log = MetricsLog(path)
    assert log.refresh() == []  # no file yet
    path.write_text('{"step": 1}\nnot json\n[1, 2]\n{"step": 2')
    assert log.refresh() == [{"step": 1}]  # a damaged line and a non-object skipped, a partial line kept back
    with open(path, "a") as f:
        f.write("}\n")
    assert log.refresh() == [{"step": 1}, {"step": 2}]
    path.write_text('{"step": 7}\n')  # a new run in the same folder: the file shrank
    assert log.refresh() == [{"step": 7}]


def test_a_run_with_a_damaged_config_is_listed_without_its_details(tmp_path):
    run = tmp_path / "broken"
    run.mkdir()
    (run / "config.json").write_text('{"train": [1, 2], "model": "dcgan"}')
    index = RunIndex(tmp_path)
    summary = index.summary("broken", index.runs()["broken"])
    assert summary["steps"] == 0 and summary["family"] is None and summary["progress"] is None
    (run / "config.json").write_text("{not json")
    assert index.detail("broken", run)["config"] == {}
