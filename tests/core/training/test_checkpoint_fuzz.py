"""A model's ``config.json`` mutated at random (issue 16, item 3): values replaced by
wrong types, NaN, huge or negative numbers, keys dropped, the file cut or re-encoded.
Loading ends in the model or in one line, never in another traceback, and a config
that claims a network far larger than its weights allocates nothing."""

from __future__ import annotations

import json
import resource

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from napari_elephant.core.detection.model import UNetConfig, build_model
from napari_elephant.core.errors import ElephantError
from napari_elephant.core.flow.model import FlowConfig, FlowUNet
from napari_elephant.core.training import checkpoint as ckpt
from tests.process import fuzz_examples

FUZZ = settings(
    max_examples=fuzz_examples(100), deadline=None, suppress_health_check=list(HealthCheck)
)
CONFIG = UNetConfig(base_channels=4, depth=2, pool_z=(False, True))
HUGE = [10**6, 10**9, 2**31, 10**30]
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**3), 10**3), st.sampled_from(HUGE),
    st.floats(), st.text(max_size=6), st.lists(st.booleans(), max_size=12),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)  # fmt: skip


def one_line(error: BaseException) -> None:
    assert isinstance(error, ElephantError), f"{type(error).__name__}: {error}"
    assert str(error) and "\n" not in str(error).strip()


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> tuple:
    folder = tmp_path_factory.mktemp("ckpt") / "detection"
    ckpt.save_checkpoint(folder, build_model(CONFIG), CONFIG, extra={"step": 3})
    return folder, json.loads((folder / ckpt.CONFIG_FILE).read_text())


def _mutated(document: dict, data) -> dict:
    doc = json.loads(json.dumps(document))
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(["model", "model", "top", "training"]))
        target = doc if where == "top" else doc.get(where)
        if not isinstance(target, dict) or not target:
            continue
        key = data.draw(st.sampled_from(sorted(target)))
        if data.draw(st.integers(0, 5)) == 0:
            del target[key]
        else:
            target[key] = data.draw(VALUES)
    return doc


@FUZZ
@given(data=st.data())
def test_a_mutated_config_loads_or_says_why_in_one_line(good, tmp_path_factory, data) -> None:
    import shutil

    source, document = good
    folder = tmp_path_factory.mktemp("fz") / "detection"
    shutil.copytree(source, folder)
    text = json.dumps(_mutated(document, data))
    if data.draw(st.integers(0, 4)) == 0:
        text = text[: data.draw(st.integers(0, len(text)))]
    encoding = data.draw(st.sampled_from(["utf-8", "utf-8", "utf-16"]))
    (folder / ckpt.CONFIG_FILE).write_bytes(text.encode(encoding, errors="replace"))
    try:
        model = ckpt.build_model_from_checkpoint(folder)
    except Exception as error:
        one_line(error)
        return
    assert sum(p.numel() for p in model.parameters()) == sum(
        p.numel() for p in build_model(CONFIG).parameters()
    )


@pytest.mark.parametrize("base_channels, depth", [(10**6, 2), (4, 40), (2**20, 12)])
def test_a_config_claiming_a_giant_network_allocates_nothing(good, tmp_path, base_channels, depth):
    import shutil

    source, document = good
    folder = tmp_path / "detection"
    shutil.copytree(source, folder)
    doc = json.loads(json.dumps(document))
    doc["model"].update(base_channels=base_channels, depth=depth, pool_z=[False] * depth)
    (folder / ckpt.CONFIG_FILE).write_text(json.dumps(doc))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ElephantError) as caught:
        ckpt.build_model_from_checkpoint(folder)
    one_line(caught.value)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 200


def test_a_flow_config_claiming_a_giant_network_allocates_nothing(tmp_path) -> None:
    small = UNetConfig(in_channels=2, base_channels=2, depth=1, pool_z=(False,), kind="flow")
    giant = UNetConfig(in_channels=2, base_channels=10**6, depth=1, pool_z=(False,), kind="flow")
    state = FlowUNet(FlowConfig(small)).state_dict()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ElephantError) as caught:
        ckpt.build_checked(lambda: FlowUNet(FlowConfig(giant)), state, tmp_path)
    one_line(caught.value)
    assert "resized" in str(caught.value)
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 200
