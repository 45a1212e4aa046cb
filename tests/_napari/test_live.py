"""Live training: annotation changes schedule rounds, one at a time."""

from __future__ import annotations


def test_live_mode_schedules_one_round_per_pause_and_queues_at_most_one(jobs, manual, ws):
    live = jobs.live
    graph = ws.graph
    first = graph.add_nucleus(1, (5.0, 5.0, 5.0), radius=2.5, status="predicted")
    assert not jobs.runner.busy  # off: nothing happens
    live.set_enabled(True)
    graph.add_nucleus(1, (9.0, 9.0, 9.0), radius=2.5, status="predicted")
    assert not jobs.runner.busy  # a prediction changed: no round
    graph.set_status([first], "accepted")
    assert jobs.runner.current.name == "live round"
    graph.set_status([first], "rejected")
    graph.remove_nuclei([first])
    assert [j.name for j in jobs.runner.queue] == ["live round"]
    assert live.rounds_scheduled == 3
    live.set_enabled(False)  # off: the waiting round goes, the running one finishes
    assert not jobs.runner.queue and jobs.runner.busy
    manual.finish()  # the round trains (for real), then predicts the current timepoint
    assert jobs.runner.records[-1].name == "live round"
    assert jobs.runner.current.name == "predict"
    assert jobs.runner.current.params["timepoints"] == "0:1"


class _Timer:
    def __init__(self) -> None:
        self.starts = 0

    def start(self) -> None:
        self.starts += 1


def test_live_needs_only_the_session_a_runner_and_a_round(ws) -> None:
    """No job specs: a timer restarts per annotation change, the round starts when
    it runs out, and switching live off drops a round still waiting."""
    from napari_elephant._napari.jobs import Job, JobRunner
    from napari_elephant._napari.live import LIVE_KEY, LiveTraining
    from tests._napari.job_helpers import BareSession

    rounds: list[int] = []
    session, runner, timer = BareSession(ws), JobRunner(), _Timer()
    live = LiveTraining(session, runner, lambda: rounds.append(1))
    live.use_timer(timer)
    nid = int(ws.graph.ids_at(0)[0])
    ws.graph.set_status([nid], "rejected")
    assert timer.starts == 0 and not rounds  # off
    live.set_enabled(True)
    ws.graph.add_nucleus(0, (4.0, 4.0, 4.0), radius=2.0, status="predicted")
    assert timer.starts == 0  # a prediction is no annotation
    ws.graph.set_status([nid], "accepted")
    ws.graph.remove_nuclei([nid])
    assert timer.starts == 2 and not rounds  # waits for the pause
    live.fire()
    assert rounds == [1] and live.rounds_scheduled == 1
    runner.queue.append(Job("live round", lambda stop: iter(()), key=LIVE_KEY))
    live.set_enabled(False)
    assert not runner.queue
    live.fire()  # off: nothing
    assert rounds == [1]
    session.switch(None)  # it follows the session's workspace: the old graph is left
    live.set_enabled(True)
    ws.graph.add_nucleus(0, (6.0, 6.0, 6.0), radius=2.0, status="accepted")
    assert timer.starts == 2
