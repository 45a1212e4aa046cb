"""TrackMate XML: exact round trips, the elements Fiji's reader needs, foreign files, refusals."""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import parse

import numpy as np
import pytest

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import Link, Origin, Status, TrackingGraph
from napari_elephant.core.io.trackmate import read_trackmate
from napari_elephant.core.io.trackmate_write import SPOT_FEATURES, write_trackmate
from napari_elephant.core.synthetic import generate
from napari_elephant.core.units import VoxelSize

VOXEL = VoxelSize(2.0, 0.5, 0.5)


def snapshot(g: TrackingGraph) -> tuple:
    return (sorted(g.nuclei(), key=lambda n: n.id), sorted(g.links(), key=lambda lk: lk.key))


@pytest.fixture
def graph() -> TrackingGraph:
    """The tiny synthetic lineage (divisions) with every status, both origins, a rejected link."""
    g = generate("tiny", 4).graph
    ids = sorted(n.id for n in g.nuclei())
    g.set_status(ids[:2], "rejected")
    g.set_status(ids[2:4], "predicted")
    g.update_nuclei(ids[2:3], origin="predicted", confidence=0.4375)
    g.update_nucleus(ids[5], cov=(4.0, 0.5, -0.25, 5.0, 0.125, 6.0))  # a tilted ellipsoid
    g.set_link_status([next(iter(g.links())).key], "rejected")
    sure = sorted(g.links(), key=lambda lk: lk.key)[-1]  # one link the linker proposed
    g.remove_links([sure.key])
    g.add_links([Link(sure.parent, sure.child, Status.PREDICTED, 0.8125)])
    return g


def test_round_trip_is_exact(tmp_path, graph):
    write_trackmate(graph, tmp_path / "t.xml", VOXEL, (4, 8, 48, 48))
    back = read_trackmate(tmp_path / "t.xml")
    assert snapshot(back) == snapshot(graph)
    assert sum(len(back.children(n.id)) == 2 for n in back.nuclei()) == 3


def test_rejected_links_travel_with_their_status_but_are_no_splits(tmp_path):
    g = TrackingGraph()
    m, x = g.add_nucleus(0, (4, 10, 10), radius=2), g.add_nucleus(0, (4, 10, 20), radius=2)
    a, b, d = (g.add_nucleus(1, (4, 10, c), radius=2) for c in (6, 14, 20))
    g.add_link(m, a)
    g.add_link(m, b)
    g.add_link(m, d, "rejected")  # a third child link, rejected
    g.add_link(x, a, "rejected")  # a second parent link, rejected
    write_trackmate(g, tmp_path / "t.xml", VOXEL)
    assert snapshot(read_trackmate(tmp_path / "t.xml")) == snapshot(g)
    (track,) = parse(tmp_path / "t.xml").getroot().find("Model").find("AllTracks")
    assert track.get("NUMBER_SPLITS") == "1" and len(track) == 4


def test_file_has_what_fijis_reader_needs(tmp_path, graph):
    write_trackmate(
        graph, tmp_path / "t.xml", VOXEL, (4, 8, 48, 48), image_path=tmp_path / "m.tif"
    )
    root = parse(tmp_path / "t.xml").getroot()
    assert root.tag == "TrackMate" and int(root.get("version").split(".")[0]) >= 7
    model = root.find("Model")
    declared = {f.get("feature") for f in model.iter("Feature")}
    spots = list(model.iter("Spot"))
    assert model.find("AllSpots").get("nspots") == str(len(spots)) == str(len(graph))
    for spot in spots:  # every attribute but ID and name is a declared number
        features = {k: v for k, v in spot.attrib.items() if k not in ("ID", "name")}
        assert set(features) <= declared
        assert all(np.isfinite(float(v)) for v in features.values())
    for track in model.find("AllTracks"):
        assert all(float(v) >= 0 for k, v in track.attrib.items() if k != "name")
    track_ids = {t.get("TRACK_ID") for t in model.find("AllTracks")}
    assert {t.get("TRACK_ID") for t in model.find("FilteredTracks")} == track_ids
    # one track per lineage tree, divisions included: 4 trees in this movie
    assert len(track_ids) == 4 and sum(len(t) for t in model.find("AllTracks")) == graph.n_links
    settings = root.find("Settings")
    for tag in ("ImageData", "InitialSpotFilter", "SpotFilterCollection", "TrackFilterCollection"):
        assert settings.find(tag) is not None, tag
    image = settings.find("ImageData")
    assert image.get("filename") == "m.tif" and image.get("nslices") == "8"
    assert float(image.get("voxeldepth")) == 2.0
    hidden = [s for s in spots if s.get("VISIBILITY") == "0"]
    assert len(hidden) == 2  # the rejected nuclei


def test_quality_is_the_confidence_and_minus_one_without_one(tmp_path, graph):
    write_trackmate(graph, tmp_path / "t.xml", VOXEL)
    spots = {int(s.get("ID")): s for s in parse(tmp_path / "t.xml").getroot().iter("Spot")}
    sure = next(n for n in graph.nuclei() if n.confidence is not None)
    assert float(spots[sure.id].get("QUALITY")) == 0.4375
    assert {s.get("QUALITY") for i, s in spots.items() if i != sure.id} == {"-1.0"}
    assert read_trackmate(tmp_path / "t.xml").nucleus(sure.id).confidence == 0.4375


def test_radius_is_the_equal_volume_sphere(tmp_path, graph):
    write_trackmate(graph, tmp_path / "t.xml", VOXEL)
    spots = {int(s.get("ID")): s for s in parse(tmp_path / "t.xml").getroot().iter("Spot")}
    n = max(graph.nuclei(), key=lambda n: n.radii[-1] / n.radii[0])
    assert float(spots[n.id].get("RADIUS")) == pytest.approx(np.prod(n.radii) ** (1 / 3))
    assert float(spots[n.id].get("POSITION_X")) == n.center[2]


FOREIGN = """<?xml version="1.0" encoding="UTF-8"?>
<TrackMate version="7.11.1">
  <Model spatialunits="{units}" timeunits="sec">
    <AllSpots nspots="4">
      <SpotsInFrame frame="0">
        <Spot ID="10" name="a" POSITION_X="1.5" POSITION_Y="2.5" POSITION_Z="3.0" FRAME="0"
              RADIUS="2.0" QUALITY="5.0" VISIBILITY="1" />
        <Spot ID="11" name="noise" POSITION_X="9.0" POSITION_Y="9.0" POSITION_Z="0.0" FRAME="0"
              RADIUS="1.0" QUALITY="0.1" VISIBILITY="0" />
      </SpotsInFrame>
      <SpotsInFrame frame="1">
        <Spot ID="12" name="b" POSITION_X="1.0" POSITION_Y="2.0" POSITION_Z="3.0" FRAME="1"
              RADIUS="2.0" QUALITY="5.0" VISIBILITY="1" />
      </SpotsInFrame>
      <SpotsInFrame frame="3">
        <Spot ID="13" name="c" POSITION_X="1.0" POSITION_Y="2.0" POSITION_Z="3.0" FRAME="3"
              RADIUS="2.0" QUALITY="5.0" VISIBILITY="1" />
      </SpotsInFrame>
    </AllSpots>
    <AllTracks>
      <Track name="Track_0" TRACK_ID="0">
        <Edge SPOT_SOURCE_ID="12" SPOT_TARGET_ID="10" LINK_COST="1.0" />
      </Track>
      <Track name="Track_1" TRACK_ID="1">
        <Edge SPOT_SOURCE_ID="12" SPOT_TARGET_ID="13" LINK_COST="1.0" />
      </Track>
    </AllTracks>
    <FilteredTracks><TrackID TRACK_ID="0" /></FilteredTracks>
  </Model>
</TrackMate>
"""


def test_foreign_file_spheres_orientation_visibility_and_all_tracks(tmp_path):
    (tmp_path / "f.xml").write_text(FOREIGN.format(units="micron"))
    g = read_trackmate(tmp_path / "f.xml")
    assert len(g) == 4
    assert g.nucleus(10).center == (3.0, 2.5, 1.5) and g.nucleus(10).cov == (4, 0, 0, 4, 0, 4)
    assert g.nucleus(11).status == Status.REJECTED and g.nucleus(10).status == Status.ACCEPTED
    assert g.nucleus(10).origin == Origin.MANUAL
    assert g.nucleus(11).confidence is None  # QUALITY 0.1: its detector's score, not ours
    # the edge written target -> source is oriented by frame; the unfiltered track is kept
    assert g.children(10) == [12] and g.children(12) == [13]


def test_pixel_units_need_a_voxel_size(tmp_path):
    (tmp_path / "f.xml").write_text(FOREIGN.format(units="pixel"))
    with pytest.raises(InvalidInputError, match="voxel size"):
        read_trackmate(tmp_path / "f.xml")
    g = read_trackmate(tmp_path / "f.xml", voxel_size=VOXEL)
    assert g.nucleus(10).center == (6.0, 1.25, 0.75)
    assert g.nucleus(10).radii == pytest.approx([1.0, 1.0, 4.0])  # 2 px at (2, .5, .5) µm


BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<TrackMate version="7.0.0"><Model><AllSpots>&lol3;</AllSpots></Model></TrackMate>
"""


def _foreign(old: str, new: str) -> str:
    text = FOREIGN.format(units="micron")
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (BOMB, "declares entities"),
        ("<TrackMate><Model>", "not well-formed"),
        ('<SpimData version="0.2"/>', "not a TrackMate XML file"),
        ("<TrackMate><Model/></TrackMate>", "not a TrackMate XML file"),
        (_foreign('POSITION_X="1.5"', 'POSITION_X="abc"'), "spot 10: POSITION_X is not a number"),
        (_foreign('POSITION_X="1.5"', 'POSITION_X="NaN"'), "not finite"),
        (_foreign('RADIUS="2.0" QUALITY="5.0" VISIBILITY="1" />', "/>"), "missing RADIUS"),
        (_foreign('FRAME="1"', 'FRAME="1.5"'), "FRAME must be an integer"),
        (_foreign('SPOT_TARGET_ID="13"', 'SPOT_TARGET_ID="99"'), "no spot with ID 99"),
        (_foreign('SPOT_TARGET_ID="13"', 'SPOT_TARGET_ID="12"'), "both spots are in frame 1"),
        (_foreign('SPOT_TARGET_ID="13"', 'SPOT_TARGET_ID="11"'), "already has a parent"),
        (_foreign('ID="11"', 'ID="10"'), "two spots share an ID"),
    ],
    ids=[
        "bomb", "broken", "other-xml", "no-spots", "number", "nan", "radius", "frame",
        "unknown-spot", "same-frame", "merge", "duplicate-id",
    ],
)  # fmt: skip
def test_bad_files_give_one_line_errors(tmp_path, text, expected):
    (tmp_path / "bad.xml").write_text(text)
    with pytest.raises(InvalidInputError, match=expected) as err:
        read_trackmate(tmp_path / "bad.xml")
    assert "\n" not in str(err.value) and "bad.xml" in str(err.value)


def test_missing_file_and_unwritable_path(tmp_path, graph):
    with pytest.raises(InvalidInputError, match="no such file"):
        read_trackmate(tmp_path / "nowhere.xml")
    with pytest.raises(InvalidInputError, match="cannot write"):
        write_trackmate(graph, tmp_path / "missing-dir" / "t.xml", VOXEL)
    assert not Path(tmp_path / "missing-dir").exists()


def test_spot_features_cover_the_ellipsoid_and_status():
    names = {f[0] for f in SPOT_FEATURES}
    assert {"POSITION_X", "RADIUS", "FRAME", "VISIBILITY", "ELEPHANT_STATUS"} <= names
    assert sum(name.startswith("ELEPHANT_COV_") for name in names) == 6
