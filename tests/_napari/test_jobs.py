"""The job runner: one job at a time, queueing, cancelling, failures, follow-ups."""

from __future__ import annotations

import logging

import pytest

from napari_elephant._napari.jobs import Job, JobRunner, run_inline
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.training.progress import Progress, StopFlag


def counting(n: int, seen: list | None = None):
    """A job body: n steps, each checking the stop flag first, returning the steps done."""

    def work(stop: StopFlag):
        for i in range(1, n + 1):
            if stop.is_set():
                return i - 1
            if seen is not None:
                seen.append(i)
            yield Progress("count", i, n, loss=1.0 / i)
        return n

    return work


def failing(error: Exception):
    def work(stop: StopFlag):
        yield Progress("fail", 1, 2)
        raise error

    return work


@pytest.fixture
def runner(manual, told) -> JobRunner:
    return JobRunner(manual, notify=told.append)


def test_inline_runs_to_the_end_and_reports_records_and_result(told) -> None:
    runner = JobRunner(run_inline, notify=told.append)
    got: list[Progress] = []
    done = []
    job = Job("count", counting(3), on_record=got.append, on_result=lambda n: f"{n} steps")
    runner.events.finished.connect(done.append)
    assert runner.submit(job)
    assert [r.step for r in got] == [1, 2, 3]
    assert not runner.busy and told == []
    (record,) = done
    assert (record.status, record.summary) == ("done", "3 steps")
    assert "count: done in" in record.line()


def test_one_job_at_a_time_second_is_refused_or_the_newest_queued_per_key(runner, manual, told):
    order: list[str] = []
    assert runner.submit(Job("first", counting(2), on_result=lambda _: order.append("first")))
    assert runner.busy and runner.current.name == "first"
    assert not runner.submit(Job("other", counting(1)))
    assert told == ["first is running: wait for it or cancel it first"]
    for name in ("live 1", "live 2"):  # same key: the newer one waits in its place
        live = Job(name, counting(1), key="live", on_result=lambda _, n=name: order.append(n))
        assert runner.submit(live, queue=True)
    assert len(runner.queue) == 1
    manual.finish()
    assert runner.current.name == "live 2" and manual.launched == 2
    manual.finish()
    assert order == ["first", "live 2"] and not runner.busy


def test_cancel_stops_within_a_step_and_drops_the_queue(runner, manual) -> None:
    seen: list[int] = []
    finished = []
    runner.events.finished.connect(finished.append)
    runner.submit(Job("long", counting(100, seen), on_result=lambda n: f"{n} done"))
    runner.submit(Job("queued", counting(1)), queue=True)
    manual.step()
    manual.step()
    runner.cancel()
    manual.finish()
    assert seen == [1, 2]  # the step after the cancel never started
    assert [(r.name, r.status, r.summary) for r in finished] == [("long", "stopped", "2 done")]
    assert not runner.busy and manual.launched == 1


def test_user_errors_are_one_line_other_errors_are_logged(runner, manual, told, caplog) -> None:
    finished = []
    runner.events.finished.connect(finished.append)
    runner.submit(Job("train", failing(InvalidInputError("no annotations to train on"))))
    manual.finish()
    assert told == ["train failed: no annotations to train on"]
    assert finished[-1].status == "failed"
    with caplog.at_level(logging.ERROR, logger="napari_elephant.jobs"):
        runner.submit(Job("predict", failing(ZeroDivisionError("boom"))))
        manual.finish()
    assert told[-1] == "predict failed: ZeroDivisionError: boom"
    assert "Traceback" in caplog.text and "ZeroDivisionError" in caplog.text
    assert not runner.busy


def test_a_failing_gui_callback_stops_the_worker(runner, manual, told) -> None:
    seen: list[int] = []

    def bad(record: Progress) -> None:
        raise KeyError("gone")

    runner.submit(Job("predict", counting(5, seen), on_record=bad))
    manual.finish()
    assert seen == [1]
    assert told == ["predict failed: KeyError: 'gone'"]
    assert runner.records[-1].status == "failed"


def test_then_runs_after_a_normal_end_only(runner, manual) -> None:
    names = []
    follow = Job("predict", counting(1), on_result=lambda _: names.append("predict"))
    first = Job("train", counting(2), then=lambda: follow)
    runner.submit(first)
    manual.finish()
    assert runner.current is not None and runner.current.name == "predict"
    manual.finish()
    assert names == ["predict"]
    runner.submit(first)
    manual.step()
    runner.cancel()
    manual.finish()
    assert not runner.busy and [r.status for r in runner.records][-1] == "stopped"
