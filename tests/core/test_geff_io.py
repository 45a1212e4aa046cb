"""GEFF export/import: exact round trips, files from the geff package, clear errors."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from geff import write as geff_write
from geff.core_io import read_to_memory, write_arrays
from geff.testing.data import create_dummy_in_mem_geff
from geff.validate.data import ValidationConfig
from geff_spec import Axis, GeffMetadata

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import Link, Nucleus, Origin, Status, TrackingGraph
from napari_elephant.core.io.geff_io import (
    CONFIDENCE_PROP,
    COVARIANCE_PROP,
    DEFAULT_RADIUS_UM,
    is_geff,
    read_geff,
)
from napari_elephant.core.io.geff_write import write_geff


def snapshot(g: TrackingGraph) -> tuple:
    return (sorted(g.nuclei(), key=lambda n: n.id), sorted(g.links(), key=lambda lk: lk.key))


@pytest.fixture
def graph() -> TrackingGraph:
    """A division with tilted ellipsoids, every status and origin, tags and a deleted id."""
    g = TrackingGraph()
    m = g.add_nucleus(0, (1.25, 2.5, 3.1), cov=(4.0, 0.5, 0.1, 5.0, 0.2, 6.0), tags=("a", "b"))
    a = g.add_nucleus(1, (1 / 3, 2.0, 3.0), radius=2.5, status="predicted", origin="predicted")
    b = g.add_nucleus(1, (7.0, 8.0, 9.0), cov=(9.0, -1.0, 0.0, 4.0, 0.5, 2.0), status="rejected")
    c = g.add_nucleus(3, (7.5, 8.0, 9.0), radius=1.5, tags=("mitosis",))
    gone = g.add_nucleus(4, (0.0, 0.0, 0.0), radius=1.0)
    g.remove_nuclei([gone])
    g.add_link(m, a, status="predicted")
    g.add_link(m, b)
    g.add_link(b, c, status="rejected")
    return g


def write_raw(path, ids, t, zyx, edges, *, directed=True, axes=None, props=None, meta=None):
    """Write a GEFF with the geff package's own array API (as another tool would)."""
    ids = np.asarray(ids, dtype=np.uint64)
    node_props = {"t": {"values": np.asarray(t), "missing": None}}
    zyx = np.asarray(zyx, dtype=np.float64)
    for i, name in enumerate("zyx"):
        node_props[name] = {"values": zyx[:, i].copy(), "missing": None}
    node_props.update(props or {})
    if axes is None:
        axes = [Axis(name="t", type="time")] + [Axis(name=a, type="space") for a in "zyx"]
    metadata = GeffMetadata(
        directed=directed,
        axes=axes,
        node_props_metadata={},
        edge_props_metadata={},
        **(meta or {}),
    )
    edges = np.asarray(edges, dtype=np.uint64).reshape(-1, 2)
    write_arrays(str(path), ids, node_props, edges, {}, metadata)


def test_round_trip_is_exact(graph, tmp_path):
    write_geff(graph, tmp_path / "g.geff")
    back = read_geff(tmp_path / "g.geff")
    assert snapshot(back) == snapshot(graph)
    assert back.nucleus(1).tags == frozenset({"a", "b"})
    assert back.nucleus(3).cov == (9.0, -1.0, 0.0, 4.0, 0.5, 2.0)


def test_rejected_links_beside_the_lineage_ones_round_trip(graph, tmp_path):
    m, a, b, c = sorted(graph.nx_graph)
    graph.add_link(a, c, "accepted")  # c's link from b is rejected: a may be its parent
    graph.add_link(m, c, "rejected")  # and m has two lineage children already
    write_geff(graph, tmp_path / "g.geff")
    back = read_geff(tmp_path / "g.geff")
    assert snapshot(back) == snapshot(graph)
    assert back.parent(c) == a and back.children(m) == [a, b]


def test_confidence_round_trips_with_geffs_missing_mask(graph, tmp_path):
    graph.update_nucleus(2, confidence=0.375)
    write_geff(graph, tmp_path / "g.geff")
    back = read_geff(tmp_path / "g.geff")
    assert snapshot(back) == snapshot(graph)
    assert back.nucleus(2).confidence == 0.375 and back.nucleus(1).confidence is None
    mem = read_to_memory(str(tmp_path / "g.geff"))
    prop = mem["node_props"][CONFIDENCE_PROP]
    have = ~prop["missing"]
    assert have.tolist() == [i == 2 for i in mem["node_ids"].tolist()]
    assert np.isnan(prop["values"][~have]).all()  # no fake number for a tool ignoring the mask
    assert mem["metadata"].node_props_metadata[CONFIDENCE_PROP].dtype == "float64"


def test_a_graph_without_confidence_writes_none_and_reads_back_none(graph, tmp_path):
    write_geff(graph, tmp_path / "old.geff")  # what a workspace saved before it existed holds
    assert CONFIDENCE_PROP not in read_to_memory(str(tmp_path / "old.geff"))["node_props"]
    assert all(n.confidence is None for n in read_geff(tmp_path / "old.geff").nuclei())


def test_another_tools_confidence_outside_0_1_is_dropped(tmp_path):
    props = {CONFIDENCE_PROP: {"values": np.array([2.5, 0.5, np.nan]), "missing": None}}
    write_raw(tmp_path / "q.geff", [1, 2, 3], [0, 0, 0], np.zeros((3, 3)), [], props=props)
    g = read_geff(tmp_path / "q.geff")
    assert [g.nucleus(i).confidence for i in (1, 2, 3)] == [None, 0.5, None]


def test_round_trip_keeps_deleted_ids_out_of_circulation(graph, tmp_path):
    write_geff(graph, tmp_path / "g.geff")
    back = read_geff(tmp_path / "g.geff")
    assert back.new_id() == graph.new_id() == 6


@pytest.mark.filterwarnings("ignore:The data type .* does not have a Zarr V3 specification")
def test_zarr_v3_and_empty_graphs_round_trip(graph, tmp_path):
    write_geff(graph, tmp_path / "v3.geff", zarr_format=3)
    assert snapshot(read_geff(tmp_path / "v3.geff")) == snapshot(graph)
    write_geff(TrackingGraph(), tmp_path / "empty.geff")
    empty = read_geff(tmp_path / "empty.geff")
    assert len(empty) == 0 and empty.n_links == 0


def test_covariance_is_the_geff_ellipsoid_property(graph, tmp_path):
    write_geff(graph, tmp_path / "g.geff")
    # geff 1.3's optional ellipsoid data check wants ndim == 1 + n_spatial_axes, i.e.
    # (N, 3, 3, ?) in 3D, against its own spec ((N, 3, 3), "2x2/3x3 array"): checked here.
    checks = ValidationConfig(graph=True)
    mem = read_to_memory(str(tmp_path / "g.geff"), data_validation=checks)
    meta = mem["metadata"]
    assert meta.ellipsoid == COVARIANCE_PROP and meta.directed
    assert [(a.name, a.type, a.unit) for a in meta.axes] == [
        ("t", "time", "frame"),
        ("z", "space", "micrometer"),
        ("y", "space", "micrometer"),
        ("x", "space", "micrometer"),
    ]
    cov = mem["node_props"][COVARIANCE_PROP]["values"]
    first = list(mem["node_ids"]).index(1)
    assert cov.shape == (4, 3, 3) and np.array_equal(cov, cov.transpose(0, 2, 1))
    assert (np.linalg.eigvalsh(cov) > 0).all()
    assert np.array_equal(cov[first], graph.nucleus(1).cov_matrix)
    assert set(mem["node_props"]["status"]["values"]) == {"accepted", "predicted", "rejected"}
    assert set(mem["edge_props"]["status"]["values"]) == {"accepted", "predicted", "rejected"}


def test_write_refuses_to_clobber_unless_asked(graph, tmp_path):
    path = tmp_path / "g.geff"
    write_geff(TrackingGraph(), path)
    with pytest.raises(InvalidInputError, match="already exists"):
        write_geff(graph, path)
    write_geff(graph, path, overwrite=True)
    assert len(read_geff(path)) == 4
    assert [p.name for p in tmp_path.iterdir()] == ["g.geff"]  # no temporary left behind
    (tmp_path / "photos").mkdir()
    with pytest.raises(InvalidInputError, match="not a GEFF"):
        write_geff(graph, tmp_path / "photos", overwrite=True)


def test_is_geff_is_a_cheap_yes_or_no(graph, tmp_path):
    write_geff(graph, tmp_path / "g.geff")
    (tmp_path / "plain").mkdir()
    (tmp_path / "file.txt").write_text("x")
    assert is_geff(tmp_path / "g.geff")
    assert not is_geff(tmp_path / "plain")
    assert not is_geff(tmp_path / "file.txt")
    assert not is_geff(tmp_path / "nowhere")


def test_reads_a_geff_made_by_the_geff_package(tmp_path):
    """geff's own test data: nanometre axes, float times, no shape, status or origin."""
    mem = create_dummy_in_mem_geff(
        node_id_dtype="uint",
        node_axis_dtypes={"position": "float64", "time": "float64"},
        directed=True,
        num_nodes=5,
        num_edges=4,
        extra_node_props={"label": "str"},
    )
    write_arrays(str(tmp_path / "mock.geff"), **mem)
    g = read_geff(tmp_path / "mock.geff")
    assert sorted(n.id for n in g.nuclei()) == [0, 1, 2, 3, 4]
    assert sorted(lk.key for lk in g.links()) == [(0, 1), (1, 2), (2, 3), (3, 4)]
    n = g.nucleus(4)
    props = mem["node_props"]
    expected = [props[a]["values"][4] * 1e-3 for a in "zyx"]  # nanometre -> µm
    assert n.t == 5 and np.allclose(n.center, expected)
    assert n.status is Status.ACCEPTED and n.origin is Origin.MANUAL
    assert n.radius == pytest.approx(DEFAULT_RADIUS_UM)


def test_reads_a_2d_networkx_geff_with_radius(tmp_path):
    nxg = nx.DiGraph()
    nxg.add_node(3, t=0, y=10.0, x=20.0, radius=2.0)
    nxg.add_node(8, t=1, y=11.0, x=21.0, radius=4.0, status="predicted")
    nxg.add_edge(3, 8)
    geff_write(nxg, str(tmp_path / "nx.geff"), axis_names=["t", "y", "x"],
               axis_types=["time", "space", "space"])  # fmt: skip
    g = read_geff(tmp_path / "nx.geff")
    assert g.nucleus(8).center == (0.0, 11.0, 21.0)
    assert g.nucleus(8).radius == pytest.approx(4.0)
    assert g.nucleus(8).status is Status.PREDICTED
    assert g.nucleus(3).status is Status.ACCEPTED  # missing value -> accepted
    assert list(g.links()) == [Link(3, 8, Status.ACCEPTED)]


def test_xyz_axes_scale_and_undirected_edges(tmp_path):
    """Axes listed x, y, z in pixels with a µm scale; the ellipsoid follows that order."""
    axes = [Axis(name="t", type="time")] + [
        Axis(name=a, type="space", unit="pixel", scale=s, scaled_unit="micrometer")
        for a, s in (("x", 0.5), ("y", 0.5), ("z", 2.0))
    ]
    cov_xyz = np.array([[4.0, 1.0, 0.0], [1.0, 4.0, 0.0], [0.0, 0.0, 1.0]])
    ellipsoid = {"values": np.stack([cov_xyz, np.eye(3)]), "missing": None}
    write_raw(tmp_path / "px.geff", [1, 2], [2, 1], [[1, 2, 4], [1, 2, 4]], [[1, 2]],
              directed=False, axes=axes, props={"cov": ellipsoid},
              meta={"ellipsoid": "cov"})  # fmt: skip
    g = read_geff(tmp_path / "px.geff")
    assert g.nucleus(1).center == (2.0, 1.0, 2.0)  # z, y, x in µm
    zyx = np.array([[4.0, 0.0, 0.0], [0.0, 1.0, 0.25], [0.0, 0.25, 1.0]])
    assert np.allclose(g.nucleus(1).cov_matrix, zyx)
    assert [lk.key for lk in g.links()] == [(2, 1)]  # oriented forward in time


def test_missing_shapes_fall_back_to_sphere_then_default(tmp_path):
    missing = np.array([False, True, True])
    props = {
        "cov": {"values": np.stack([np.eye(3) * 9.0] * 3), "missing": missing},
        "r": {"values": np.array([1.0, 2.0, 0.0]), "missing": np.array([False, False, True])},
    }
    write_raw(tmp_path / "s.geff", [1, 2, 3], [0, 0, 0], np.zeros((3, 3)), [],
              props=props, meta={"ellipsoid": "cov", "sphere": "r"})  # fmt: skip
    g = read_geff(tmp_path / "s.geff")
    assert [g.nucleus(i).radius for i in (1, 2, 3)] == pytest.approx([3.0, 2.0, DEFAULT_RADIUS_UM])


def test_unknown_status_names_the_node(tmp_path):
    status = {"status": {"values": np.array(["accepted", "maybe"]), "missing": None}}
    write_raw(tmp_path / "s.geff", [1, 2], [0, 1], np.zeros((2, 3)), [[1, 2]], props=status)
    with pytest.raises(InvalidInputError, match="node 2 has unknown status 'maybe'"):
        read_geff(tmp_path / "s.geff")


def broken_graphs():
    """(name, ids, t, edges, expected words in the message)."""
    return [
        ("backwards", [1, 2], [1, 0], [[1, 2]], "link 1 → 2 does not go forward"),
        ("two parents", [1, 2, 3], [0, 0, 1], [[1, 3], [2, 3]], "nucleus 3 has two parents"),
        ("three kids", [1, 2, 3, 4], [0, 1, 1, 1], [[1, 2], [1, 3], [1, 4]], "nucleus 1 has more"),
        ("dangling", [1, 2], [0, 1], [[1, 9]], "link 1 → 9 refers to a node"),
        ("half frame", [1, 2], [0.0, 0.5], [], "node 2 has a non-integer time"),
    ]


@pytest.mark.parametrize(("name", "ids", "t", "edges", "words"), broken_graphs())
def test_graphs_that_break_our_invariants_are_refused(tmp_path, name, ids, t, edges, words):
    path = tmp_path / "bad.geff"
    write_raw(path, ids, t, np.zeros((len(ids), 3)), edges)
    with pytest.raises(InvalidInputError) as err:
        read_geff(path)
    assert words in str(err.value) and str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_unusable_paths_and_stores_name_the_path(graph, tmp_path):
    (tmp_path / "plain").mkdir()
    write_geff(graph, tmp_path / "g.geff")
    (tmp_path / "g.geff" / "nodes" / "ids" / ".zarray").unlink()  # corrupt it
    for path, words in [
        (tmp_path / "nowhere.geff", "no such file"),
        (tmp_path / "plain", "is not a GEFF"),
        (tmp_path / "g.geff", "is not a valid GEFF"),
    ]:
        with pytest.raises(InvalidInputError, match=words) as err:
            read_geff(path)
        assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_5k_nuclei_round_trip(tmp_path):
    # speed belongs to benchmarks/ (a timed assertion failed CI on a loaded 2-core VM)
    rng = np.random.default_rng(0)
    centers = rng.random((5000, 3)) * 100
    nuclei = [Nucleus(i + 1, i // 100, tuple(c), (4.0, 0.0, 0.0, 4.0, 0.0, 4.0))
              for i, c in enumerate(centers.tolist())]  # fmt: skip
    links = [Link(i, i + 100) for i in range(1, 4901)]
    g = TrackingGraph.from_records(nuclei, links)
    write_geff(g, tmp_path / "big.geff")
    back = read_geff(tmp_path / "big.geff")
    assert snapshot(back) == snapshot(g)


def test_link_confidence_round_trips(tmp_path):
    from napari_elephant.core.graph import Link, Status, TrackingGraph, make_nucleus
    from napari_elephant.core.io.geff_io import read_geff
    from napari_elephant.core.io.geff_write import write_geff

    nuclei = [make_nucleus(i, i // 2, (1.0, 2.0 * i, 3.0), radius=2.0) for i in range(1, 5)]
    links = [Link(1, 3, Status.PREDICTED, 0.25), Link(2, 4, Status.ACCEPTED)]
    graph = TrackingGraph.from_records(nuclei, links)
    write_geff(graph, tmp_path / "g.geff")
    back = read_geff(tmp_path / "g.geff")
    assert back.link(1, 3).confidence == 0.25 and back.link(2, 4).confidence is None
    graph.set_link_status([(1, 3)], Status.ACCEPTED)  # a decision keeps the linker's word
    assert graph.link(1, 3) == Link(1, 3, Status.ACCEPTED, 0.25)
