"""CSV export/import: exact round trips, lenient columns, undoable merges, row-level errors."""

from __future__ import annotations

import numpy as np
import pytest

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import Link, Nucleus, Origin, Status, TrackingGraph
from napari_elephant.core.io.csv_io import (
    CSV_COLUMNS,
    ImportReport,
    import_csv,
    load_csv,
    read_csv,
    write_csv,
)

HEADER = ",".join(CSV_COLUMNS)
SPHERE = "4.0,0.0,0.0,4.0,0.0,4.0"  # radius 2 µm


def snapshot(g: TrackingGraph) -> tuple:
    return (sorted(g.nuclei(), key=lambda n: n.id), sorted(g.links(), key=lambda lk: lk.key))


@pytest.fixture
def graph() -> TrackingGraph:
    """A division with tilted ellipsoids and every status.

    A CSV row carries no origin and no link status: predicted nuclei have origin
    "predicted" and links the child's status, as the file will say on reading.
    """
    g = TrackingGraph()
    m = g.add_nucleus(0, (1.25, 2.5, 3.1), cov=(4.0, 0.5, 0.1, 5.0, 0.2, 6.0))
    a = g.add_nucleus(
        1,
        (1 / 3, 2.0, 3.0000000001),
        radius=2.5,
        status="predicted",
        origin="predicted",
        confidence=0.3125,
    )
    b = g.add_nucleus(1, (7.0, 8.0, 9.0), cov=(9.0, -1.0, 0.0, 4.0, 0.5, 2.0), status="rejected")
    c = g.add_nucleus(3, (7.5, 8.0, 9.0), radius=1.5)
    g.add_link(m, a, status="predicted")
    g.add_link(m, b, status="rejected")
    g.add_link(b, c)
    g.history.clear()
    return g


def write(tmp_path, text: str, name: str = "tracks.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_header_is_exactly_the_documented_columns(graph, tmp_path):
    write_csv(graph, tmp_path / "out.csv")
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines[0] == (
        "id,t,z,y,x,cov_zz,cov_zy,cov_zx,cov_yy,cov_yx,cov_xx,parent_id,status,confidence"
    )
    assert lines[1] == "1,0,1.25,2.5,3.1,4.0,0.5,0.1,5.0,0.2,6.0,,accepted,"  # no confidence
    assert lines[2].endswith(",1,predicted,0.3125")


def test_round_trip_is_exact(graph, tmp_path):
    write_csv(graph, tmp_path / "out.csv")
    back = load_csv(tmp_path / "out.csv")
    assert snapshot(back) == snapshot(graph)
    assert back.nucleus(2).center == (1 / 3, 2.0, 3.0000000001)
    assert back.nucleus(2).confidence == 0.3125 and back.nucleus(1).confidence is None
    rows = read_csv(tmp_path / "out.csv")
    assert [r.row for r in rows] == [2, 3, 4, 5] and rows[1].parent_id == 1


def test_radius_may_replace_the_covariance(tmp_path):
    path = write(tmp_path, "id,t,z,y,x,radius\n7,2,1,2,3,1.5\n")
    g = load_csv(path)
    assert g.nucleus(7).cov == (2.25, 0.0, 0.0, 2.25, 0.0, 2.25)
    assert g.nucleus(7).t == 2 and g.nucleus(7).center == (1.0, 2.0, 3.0)


def test_missing_status_means_accepted_and_extra_columns_are_ignored(tmp_path):
    text = f"{HEADER},comment\n1,0,0,0,0,{SPHERE},,,,hello\n2,1,0,0,0,{SPHERE},1,predicted,,x\n"
    g = load_csv(write(tmp_path, text))
    assert g.nucleus(1).status is Status.ACCEPTED and g.nucleus(1).origin is Origin.MANUAL
    assert g.nucleus(2).origin is Origin.PREDICTED
    assert list(g.links()) == [Link(1, 2, Status.PREDICTED)]  # the child's status


def test_a_table_without_confidence_gives_none_and_an_empty_cell_keeps_it(graph, tmp_path):
    path = write(tmp_path, "id,t,z,y,x,radius\n7,2,1,2,3,1.5\n")
    assert load_csv(path).nucleus(7).confidence is None
    text = f"{HEADER}\n2,1,{ROW},1,accepted,\n"  # nucleus 2 (confidence 0.3125) accepted
    import_csv(graph, write(tmp_path, text))
    assert graph.nucleus(2).status is Status.ACCEPTED and graph.nucleus(2).confidence == 0.3125
    import_csv(graph, write(tmp_path, f"{HEADER}\n2,1,{ROW},1,accepted,0.75\n"))
    assert graph.nucleus(2).confidence == 0.75


def test_reimport_updates_instead_of_duplicating(graph, tmp_path):
    write_csv(graph, tmp_path / "out.csv")
    text = (tmp_path / "out.csv").read_text().replace("7.5,8.0,9.0", "7.75,8.0,9.0")
    report = import_csv(graph, write(tmp_path, text.replace(",3,accepted", ",3,rejected")))
    assert len(graph) == 4 and graph.n_links == 3
    assert graph.nucleus(4).center == (7.75, 8.0, 9.0)
    assert graph.nucleus(4).status is Status.REJECTED
    assert graph.link(3, 4).status is Status.REJECTED
    assert report == ImportReport(added=0, updated=1, links_added=0, links_updated=1)


def test_import_adds_links_to_nuclei_already_in_the_graph(graph, tmp_path):
    path = write(tmp_path, f"{HEADER}\n10,2,0,0,0,{SPHERE},2,accepted\n")
    report = import_csv(graph, path)
    assert graph.link(2, 10) == Link(2, 10, Status.ACCEPTED)
    assert report == ImportReport(added=1, links_added=1)
    assert graph.new_id() == 11  # imported ids are never handed out again


def test_the_parent_written_is_the_lineage_one_not_a_rejected_link(graph, tmp_path):
    d = graph.add_nucleus(2, (1.0, 1.0, 1.0), radius=1.0)
    graph.add_link(2, d, "rejected")  # d's only parent link is rejected: no parent
    graph.add_link(1, 4, "rejected")  # beside 4's lineage parent 3
    write_csv(graph, tmp_path / "out.csv")
    parents = {r.nucleus.id: r.parent_id for r in read_csv(tmp_path / "out.csv")}
    assert parents[d] is None and parents[4] == 3


def test_import_adds_a_lineage_parent_beside_a_rejected_link(graph, tmp_path):
    d = graph.add_nucleus(2, (1.0, 1.0, 1.0), radius=1.0)
    graph.add_link(2, d, "rejected")
    report = import_csv(graph, write(tmp_path, f"{HEADER}\n{d},2,1,1,1,{SPHERE},3,accepted\n"))
    assert report.links_added == 1 and graph.parent(d) == 3
    assert graph.link(2, d).status is Status.REJECTED


def test_rejected_rows_take_no_child_slot_of_their_parent(tmp_path):
    text = f"{HEADER}\n1,0,{ROW},,\n2,1,{ROW},1,\n3,1,{ROW},1,\n4,1,{ROW},1,rejected\n"
    g = load_csv(write(tmp_path, text))
    assert g.children(1) == [2, 3] and g.link(1, 4).status is Status.REJECTED


def test_import_is_one_undo_step(graph, tmp_path):
    before = snapshot(graph)
    text = f"{HEADER}\n4,3,0,0,0,{SPHERE},3,rejected\n10,4,1,1,1,{SPHERE},4,predicted\n"
    import_csv(graph, write(tmp_path, text))
    after = snapshot(graph)
    assert after != before and len(graph.history) == 1
    graph.undo()
    assert snapshot(graph) == before
    graph.redo()
    assert snapshot(graph) == after


def test_a_failed_import_changes_nothing(graph, tmp_path):
    before = snapshot(graph)
    text = f"{HEADER}\n10,2,0,0,0,{SPHERE},,\n11,5,0,0,0,{SPHERE},99,\n"
    with pytest.raises(InvalidInputError, match="row 3: parent 99 is neither"):
        import_csv(graph, write(tmp_path, text))
    assert snapshot(graph) == before and len(graph.history) == 0


ROW = f"0,0,0,{SPHERE}"  # z, y, x and covariance of a valid row


def malformed():
    """(csv text, words expected in the error, row number)."""
    return [
        ("", "empty file", 1),
        ("id,t,z,y\n", "missing required column(s): x, cov_zz", 1),
        (f"{HEADER}\n1,0,{ROW},,\n2,1,abc,0,0,{SPHERE},,\n", "'z' is not a number: 'abc'", 3),
        (f"{HEADER}\n1,-1,{ROW},,\n", "'t' must be a non-negative integer", 2),
        (f"{HEADER}\n1,1.5,{ROW},,\n", "'t' must be a non-negative integer", 2),
        (f"{HEADER}\n1,0,0,0,0,1,2,0,1,0,1,,\n", "not positive definite", 2),
        (f"{HEADER}\n1,0,{ROW},,maybe\n", "unknown status 'maybe'", 2),
        (f"{HEADER}\n1,0,{ROW},,\n1,1,{ROW},,\n", "duplicate id 1 (first on row 2)", 3),
        (f"{HEADER}\n1,1,{ROW},,\n2,1,{ROW},1,\n", "parent 1 is at t=1, not earlier", 3),
        (
            f"{HEADER}\n1,0,{ROW},,\n2,1,{ROW},1,\n3,1,{ROW},1,\n4,1,{ROW},1,\n",
            "nucleus 1 would have more than two children",
            5,
        ),
        (f"{HEADER}\n1,0,{ROW},7,\n", "parent 7 is neither in the file nor in the graph", 2),
        ("id,t,z,y,x,radius\n1,0,0,0,0,-2\n", "radius must be positive", 2),
        (f"{HEADER}\n1,0,{ROW},,,0.5\n2,0,{ROW},,,1.5\n", "confidence must be between 0", 3),
    ]


@pytest.mark.parametrize(("text", "words", "row"), malformed())
def test_malformed_files_name_the_row_in_one_line(tmp_path, text, words, row):
    path = write(tmp_path, text)
    with pytest.raises(InvalidInputError) as err:
        load_csv(path)
    message = str(err.value)
    assert words in message and f"row {row}" in message and str(path) in message
    assert "\n" not in message


def test_import_refuses_to_move_a_nucleus_in_time(graph, tmp_path):
    path = write(tmp_path, f"{HEADER}\n2,5,0,0,0,{SPHERE},,\n")
    with pytest.raises(InvalidInputError, match="row 2: nucleus 2 exists at t=1, not t=5"):
        import_csv(graph, path)


def test_5k_nuclei_round_trip_quickly(tmp_path):
    rng = np.random.default_rng(0)
    centers = rng.random((5000, 3)) * 100
    nuclei = [Nucleus(i + 1, i // 100, tuple(c), (4.0, 0.1, 0.0, 4.0, 0.0, 4.0))
              for i, c in enumerate(centers.tolist())]  # fmt: skip
    links = [Link(i, i + 100) for i in range(1, 4901)]
    g = TrackingGraph.from_records(nuclei, links)
    write_csv(g, tmp_path / "big.csv")  # speed: benchmarks/, not a timed assertion
    back = load_csv(tmp_path / "big.csv")
    assert snapshot(back) == snapshot(g)
