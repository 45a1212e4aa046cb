"""Progress records, the stop flag and drain()."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from napari_elephant.core.training.progress import Progress, StopFlag, drain


def test_progress_is_immutable_and_copies_extra():
    figures = {"f1": 0.5}
    record = Progress("train", 3, total=10, loss=0.25, extra=figures)
    figures["f1"] = 0.9
    assert record.extra["f1"] == 0.5
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.step = 4
    with pytest.raises(TypeError):
        record.extra["f1"] = 1.0


def test_progress_fraction_and_summary():
    assert Progress("train", 3, total=12).fraction == 0.25
    assert Progress("train", 3).fraction is None
    line = Progress("train", 3, total=12, loss=0.5, lr=1e-3, elapsed=2.0, message="ok").summary()
    assert line == "train 3/12  loss 0.5  lr 0.001  2.0 s  ok"


def test_progress_records_hash_and_compare():
    a = Progress("predict", 1, extra={"t": 2})
    assert a == Progress("predict", 1, extra={"t": 2})
    assert hash(a) == hash(Progress("predict", 1, extra={"t": 3}))


def test_stop_flag_is_set_from_another_thread_and_never_raises():
    flag = StopFlag()
    assert not flag.check()
    worker = threading.Thread(target=flag.set)
    worker.start()
    worker.join()
    assert flag.is_set() and flag.check()
    assert flag.wait(0.0)
    flag.clear()
    assert not flag.is_set()


def test_a_generator_stops_between_steps():
    flag = StopFlag()

    def task():
        for step in range(100):
            if flag.check():
                return f"stopped at {step}"
            yield Progress("train", step)
        return "done"

    def stop_after_three(record):
        if record.step == 2:
            flag.set()

    assert drain(task(), stop_after_three) == "stopped at 3"


def test_drain_returns_the_value_and_calls_back_on_every_record():
    def task():
        yield Progress("a", 1)
        yield Progress("a", 2)
        return 42

    seen = []
    assert drain(task(), seen.append) == 42
    assert [r.step for r in seen] == [1, 2]
    assert drain(task()) == 42
