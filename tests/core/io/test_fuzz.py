"""Fuzzed importers (issue 16, item 3): a good file, mutated at random — truncated,
cells replaced by NaN, inf, huge, negative or non-numbers, rows duplicated,
bytes in another encoding, a GEFF's arrays and metadata altered — reads as a valid
graph or ends in one line naming the problem, never in a traceback of another kind."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from napari_elephant.core.errors import ElephantError
from napari_elephant.core.io.csv_io import load_csv, write_csv
from napari_elephant.core.workspace import SETTINGS, Workspace
from tests._napari.helpers import write_workspace
from tests.core.analysis.helpers import hand_lineage
from tests.process import fuzz_examples

FUZZ = settings(
    max_examples=fuzz_examples(150), deadline=None, suppress_health_check=list(HealthCheck)
)
NASTY = st.sampled_from(
    ["", "nan", "NaN", "inf", "-inf", "-1", "1e309", "0", "99999999999999999999999",
     "abc", "1.5", "-0", " ", "\x00", "é", "=1", "tag=x", "1,2", '"', "None", "[]"]
)  # fmt: skip


ANY_VALUE = st.one_of(
    st.none(),
    st.integers(-(10**12), 10**12),
    st.floats(),
    NASTY,
    st.lists(st.integers(-5, 5), max_size=4),
)


def one_line(error: BaseException) -> None:
    assert isinstance(error, ElephantError), f"{type(error).__name__}: {error}"
    assert str(error) and "\n" not in str(error).strip()


@pytest.fixture(scope="module")
def good_csv(tmp_path_factory) -> str:
    graph = hand_lineage()
    graph.remove_nuclei([11, 12])
    path = tmp_path_factory.mktemp("csv") / "g.csv"
    write_csv(graph, path)
    return path.read_text()


@FUZZ
@given(data=st.data())
def test_a_mutated_csv_reads_or_says_why_in_one_line(good_csv, tmp_path_factory, data) -> None:
    rows = [r.split(",") for r in good_csv.splitlines()]
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["cell", "truncate", "duplicate", "drop", "header"]))
        r = data.draw(st.integers(0, len(rows) - 1))
        if kind == "cell" and rows[r]:
            rows[r][data.draw(st.integers(0, len(rows[r]) - 1))] = data.draw(NASTY)
        elif kind == "truncate":
            rows = rows[: r + 1]
            rows[-1] = rows[-1][: data.draw(st.integers(0, len(rows[-1])))]
        elif kind == "duplicate":
            rows.insert(r, list(rows[r]))
        elif kind == "drop" and len(rows) > 1:
            rows.pop(r)
        elif kind == "header":
            rows[0] = [data.draw(NASTY) if data.draw(st.booleans()) else c for c in rows[0]]
    text = "\n".join(",".join(r) for r in rows)
    encoding = data.draw(st.sampled_from(["utf-8", "utf-16", "latin-1"]))
    path = tmp_path_factory.mktemp("fuzz") / "f.csv"
    path.write_bytes(text.encode(encoding, errors="replace"))
    try:
        graph = load_csv(path)
    except Exception as error:
        one_line(error)
        return
    for link in graph.links():  # what reads is a valid graph
        assert graph.nucleus(link.parent).t < graph.nucleus(link.child).t


@pytest.fixture(scope="module")
def good_settings(tmp_path_factory) -> tuple:
    path = write_workspace(tmp_path_factory.mktemp("ws"))
    return path, (path / SETTINGS).read_text()


def _mutate(value, data):
    """One random change somewhere inside a JSON value."""
    if isinstance(value, dict) and value:
        key = data.draw(st.sampled_from(sorted(value)))
        action = data.draw(st.sampled_from(["drop", "replace", "recurse"]))
        out = dict(value)
        if action == "drop":
            del out[key]
        elif action == "replace":
            out[key] = data.draw(ANY_VALUE)
        else:
            out[key] = _mutate(value[key], data)
        return out
    if isinstance(value, list) and value:
        i = data.draw(st.integers(0, len(value) - 1))
        return [*value[:i], _mutate(value[i], data), *value[i + 1 :]]
    return data.draw(st.one_of(st.none(), st.floats(), NASTY, st.integers()))


@FUZZ
@given(data=st.data())
def test_a_mutated_workspace_json_opens_or_says_why_in_one_line(good_settings, data) -> None:
    path, text = good_settings
    settings_ = json.loads(text)
    for _ in range(data.draw(st.integers(1, 3))):
        settings_ = _mutate(settings_, data)
    raw = json.dumps(settings_, allow_nan=True)
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    (path / SETTINGS).write_text(raw)
    try:
        Workspace.open(path)
    except Exception as error:
        one_line(error)
    finally:
        (path / SETTINGS).write_text(text)


@pytest.fixture(scope="module")
def good_xml(tmp_path_factory) -> str:
    from napari_elephant.core.io.trackmate_write import write_trackmate

    graph = hand_lineage()
    path = tmp_path_factory.mktemp("xml") / "g.xml"
    write_trackmate(graph, path, (2.0, 0.5, 0.5))
    return path.read_text()


@FUZZ
@given(data=st.data())
def test_a_mutated_trackmate_file_reads_or_says_why_in_one_line(
    good_xml, tmp_path_factory, data
) -> None:
    import re

    from napari_elephant.core.io.trackmate import read_trackmate

    values = list(re.finditer(r'="([^"]*)"', good_xml))
    text = good_xml
    for m in sorted(data.draw(st.lists(st.sampled_from(values), min_size=1, max_size=4,
                                       unique_by=lambda m: m.start())),
                    key=lambda m: -m.start()):  # fmt: skip
        text = text[: m.start(1)] + data.draw(NASTY).replace('"', "") + text[m.end(1) :]
    if data.draw(st.booleans()):
        text = text[: data.draw(st.integers(0, len(text)))]
    path = tmp_path_factory.mktemp("fuzz") / "f.xml"
    path.write_text(text)
    try:
        read_trackmate(path)
    except Exception as error:
        one_line(error)


FLOATS = st.sampled_from([float("nan"), float("inf"), -1.0, -(2.0**40), 2.0**62, 0.0, 1e300])
INTS = st.sampled_from([-1, 0, 1, 7, 2**31 - 1, 2**31, 2**62])


@pytest.fixture(scope="module")
def good_geff(tmp_path_factory):
    from napari_elephant.core.io.geff_write import write_geff

    path = tmp_path_factory.mktemp("geff") / "g.geff"
    write_geff(hand_lineage(), path)
    return path


@settings(FUZZ, max_examples=fuzz_examples(60))  # a GEFF is a folder of arrays: slower to write
@given(data=st.data())
def test_a_mutated_geff_reads_or_says_why_in_one_line(good_geff, tmp_path_factory, data) -> None:
    import shutil

    import numpy as np
    import zarr

    from napari_elephant.core.io.geff_io import read_geff

    path = tmp_path_factory.mktemp("fuzz") / "g.geff"
    shutil.copytree(good_geff, path)
    arrays = sorted(str(p.parent.relative_to(path)) for p in path.rglob(".zarray"))
    for _ in range(data.draw(st.integers(1, 3))):
        name = data.draw(st.sampled_from(arrays))
        array = zarr.open_array(str(path / name), mode="r+")
        values = np.asarray(array[...])
        if values.size == 0:
            continue
        flat = values.reshape(-1).copy()
        i = data.draw(st.integers(0, flat.size - 1))
        if values.dtype.kind == "f":
            flat[i] = data.draw(FLOATS)
        elif values.dtype.kind in "iu":
            flat[i] = np.array(data.draw(INTS)).astype(values.dtype)  # wraps, as a bad file would
        elif values.dtype.kind == "b":
            flat[i] = not flat[i]
        else:
            flat[i] = data.draw(NASTY)
        array[...] = flat.reshape(values.shape)
    if data.draw(st.booleans()):
        attrs = sorted(path.rglob(".zattrs"))
        victim = data.draw(st.sampled_from(attrs))
        text = victim.read_text()
        victim.write_text(text[: data.draw(st.integers(0, len(text)))])
    try:
        read_geff(path)
    except Exception as error:
        one_line(error)
