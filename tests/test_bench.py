"""``python -m knn bench``: every peer measured in one run, ours exact, ratios printed."""

import json

from helpers import in_process


def test_bench_json_small(capsys):
    """One run of every peer: its JSON, and the same results as the table the command prints without --json."""
    from knn.__main__ import bench_table

    r = in_process(capsys, "bench", "--queries", "60", "--single", "8", "--budget", "3", "--k", "5", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    names = [x["name"] for x in out["results"]]
    assert names[0] == "this engine (TensorFlow)" and "NumPy brute force" in names
    assert {"faiss IndexFlat L1", "scikit-learn brute"} <= set(names)  # requirements-dev.txt installs both
    ours = out["results"][0]
    assert ours["exact"] and ours["same_neighbours"] and ours["batch_queries"] == 60
    for res in out["results"]:
        assert res["exact"], res  # every peer agrees with NumPy on the distances
        assert res["batch_qps"] > 0 and res["single_p50_ms"] > 0 and res["index_mb"] > 0
    assert set(out["ratios"]) == set(names[1:])
    assert out["extra"]["name"] == "this engine, default space (learned)" and out["extra"]["batch_qps"] > 0
    assert "cores" in out["machine"]
    table = bench_table(out)
    assert "this engine / peer:" in table and "vs faiss IndexFlat L1" in table
    assert all(x["name"] in table for x in out["results"]) and out["extra"]["name"] in table
