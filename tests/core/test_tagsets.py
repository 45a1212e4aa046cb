"""Tag sets: values per nucleus, one undo step, the sub-lineage, and every file that
carries them (workspace, GEFF, CSV, TrackMate XML)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.io.csv_io import import_csv, load_csv, write_csv
from napari_elephant.core.io.geff_io import read_geff
from napari_elephant.core.io.geff_write import write_geff
from napari_elephant.core.io.trackmate import read_trackmate
from napari_elephant.core.io.trackmate_write import write_trackmate
from napari_elephant.core.tagsets import (
    TagSet,
    find_set,
    merged_tags,
    recoloured,
    retagged,
    set_names,
    sub_lineage,
    tag_nuclei,
    value_of,
)
from napari_elephant.core.workspace import Workspace
from tests._napari.helpers import write_workspace
from tests.core.analysis.helpers import hand_lineage

FATE = TagSet(name="fate").with_value("neuron").with_value("epidermis", "#00FF00")
PHASE = TagSet(name="phase").with_value("G1").with_value("M")


def test_a_set_has_unique_values_and_colours() -> None:
    assert FATE.names == ["neuron", "epidermis"]
    assert FATE.color_of("epidermis") == "#00ff00" and FATE.color_of(None) == "#808080"
    with pytest.raises(ValidationError, match="repeat"):
        FATE.with_value("neuron")
    for bad in ("", "a=b", "x,y"):
        with pytest.raises(ValidationError):
            TagSet(name=bad)
    with pytest.raises(ValidationError, match="#rrggbb"):
        FATE.with_value("x", "red")
    with pytest.raises(InvalidInputError, match="no tag set 'cycle' \\(known: fate\\)"):
        find_set([FATE], "cycle")
    (red,) = recoloured([FATE], "fate", "neuron", "#FF0000")
    assert red.color_of("neuron") == "#ff0000" and red.color_of("epidermis") == "#00ff00"
    with pytest.raises(InvalidInputError, match="#rrggbb"):
        recoloured([FATE], "fate", "neuron", "red")


def test_a_nucleus_holds_one_value_per_set() -> None:
    tags = retagged({"division", "fate=neuron"}, "fate", "epidermis")
    assert tags == {"division", "fate=epidermis"} and value_of(tags, "fate") == "epidermis"
    assert retagged(tags, "fate", None) == {"division"}
    assert merged_tags({"fate=neuron", "phase=M"}, {"fate=epidermis"}) == {
        "fate=epidermis", "phase=M"
    }  # fmt: skip
    assert set_names([{"phase=M", "x"}, {"fate=neuron"}]) == ["fate", "phase"]


def test_tagging_is_one_undo_step_and_can_cover_the_sub_lineage() -> None:
    graph = hand_lineage()
    assert sub_lineage(graph, [3]) == [3, 5, 6, 7, 8]
    assert sub_lineage(graph, [10]) == [10, 11]  # the rejected link 10 → 12 is not lineage
    steps = len(graph.history)
    assert tag_nuclei(graph, [2], FATE, "neuron", whole_lineage=True) == 8
    assert len(graph.history) == steps + 1
    assert value_of(graph.nucleus(9).tags, "fate") == "neuron"
    assert tag_nuclei(graph, [2], FATE, "neuron", whole_lineage=True) == 0  # nothing new
    assert tag_nuclei(graph, [4], FATE, None) == 1
    graph.undo()
    graph.undo()
    assert all(value_of(n.tags, "fate") is None for n in graph.nuclei())
    with pytest.raises(InvalidInputError, match="'glia' is not a value of tag set 'fate'"):
        tag_nuclei(graph, [2], FATE, "glia")


def tagged_lineage():
    graph = hand_lineage()
    graph.remove_nuclei([11, 12])  # a CSV keeps no rejected link
    tag_nuclei(graph, [3], FATE, "neuron", whole_lineage=True)
    tag_nuclei(graph, [4, 9], FATE, "epidermis")
    tag_nuclei(graph, [6], PHASE, "M")
    return graph


def fates(graph) -> dict[int, frozenset[str]]:
    return {n.id: frozenset(t for t in n.tags if "=" in t) for n in graph.nuclei()}


def test_csv_writes_one_column_per_set_and_reads_it_back(tmp_path) -> None:
    graph = tagged_lineage()
    write_csv(graph, tmp_path / "g.csv")
    header = (tmp_path / "g.csv").read_text().splitlines()[0]
    assert header.endswith(",tag:fate,tag:phase")
    assert fates(load_csv(tmp_path / "g.csv")) == fates(graph)


def test_a_csv_import_replaces_the_values_it_names_and_keeps_the_rest(tmp_path) -> None:
    graph = tagged_lineage()
    (tmp_path / "f.csv").write_text(
        "id,t,z,y,x,radius,tag:fate\n6,4,5,0,12,2,epidermis\n9,3,5,10,9,2,\n"
    )
    import_csv(graph, tmp_path / "f.csv")
    assert fates(graph)[6] == {"fate=epidermis", "phase=M"}
    assert fates(graph)[9] == {"fate=epidermis"}  # an empty cell keeps the value


def test_a_bad_tag_value_in_a_csv_is_a_one_line_error(tmp_path) -> None:
    (tmp_path / "b.csv").write_text("id,t,z,y,x,radius,tag:fate\n1,0,5,0,0,2,a=b\n")
    with pytest.raises(InvalidInputError, match=r"b.csv, row 2: tag 'fate': value 'a=b'"):
        load_csv(tmp_path / "b.csv")


def test_trackmate_and_geff_carry_the_sets(tmp_path) -> None:
    graph = tagged_lineage()
    write_trackmate(graph, tmp_path / "g.xml", (2.0, 0.5, 0.5))
    text = (tmp_path / "g.xml").read_text()
    assert 'elephant_values="epidermis|neuron"' in text and 'shortname="fate"' in text
    assert fates(read_trackmate(tmp_path / "g.xml")) == fates(graph)
    write_geff(graph, tmp_path / "g.geff")
    assert fates(read_geff(tmp_path / "g.geff")) == fates(graph)


def test_the_workspace_keeps_the_sets_in_their_order(tmp_path) -> None:
    ws = Workspace.open(write_workspace(tmp_path))
    ws.tag_sets = [PHASE, FATE]
    tag_nuclei(ws.graph, ws.graph.ids_at(0)[:2], FATE, "epidermis")
    ws.save()
    again = Workspace.open(ws.path)
    assert again.tag_sets == [PHASE, FATE]
    assert fates(again.graph) == fates(ws.graph)


def test_a_bad_tag_set_in_workspace_json_is_a_one_line_error(tmp_path) -> None:
    import json

    from napari_elephant.core.errors import WorkspaceError
    from napari_elephant.core.workspace import SETTINGS

    path = write_workspace(tmp_path)
    settings = json.loads((path / SETTINGS).read_text())
    settings["tag_sets"] = [{"name": "a=b"}]
    (path / SETTINGS).write_text(json.dumps(settings))
    with pytest.raises(WorkspaceError, match="has invalid settings") as error:
        Workspace.open(path)
    assert "\n" not in str(error.value)
