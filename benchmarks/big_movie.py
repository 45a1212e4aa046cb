"""A 100 × 64 × 1024 × 1024 movie through the command line (issue 12, item 6).

    python benchmarks/big_movie.py [--movie PATH] [--write-timepoints K] [--timepoints A:B]
                                   [--threads N] [--device auto|cpu|cuda] [--quick] [--json PATH]

The claim: such a movie "is predicted with a progress bar, peak memory < 4 GB, and a
cancelled run keeps the timepoints it finished", checked as a user meets it, with
``napari-elephant`` run as a subprocess: (1) an OME-Zarr of synthetic nuclei, one dense
(K, 64, 256, 256) block tiled 4 × 4 laterally (odd tiles mirrored), the timepoints
from K on left as the fill value, reused when the file exists; (2) ``init``, ~10
accepted nuclei of t = 0 imported from the block's truth, ``train-detection --steps
10``; (3) ``predict --timepoints A:B`` on a terminal (a pty: the bar redraws as a user
sees it), its peak RSS polled from /proc/PID/status (VmHWM); (4) ``predict`` on the
rest, SIGINT once two timepoints are done: the workspace must hold those and nothing
past the one in flight.  ``--threads N`` pins this process, and so the CLI (which uses
every core it may run on), to N cores.  ``--quick``: a small movie, not the target.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import pty
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import zarr

from napari_elephant.core.graph import Status, TrackingGraph
from napari_elephant.core.io.csv_io import write_csv
from napari_elephant.core.io.image import open_image, write_ome_zarr
from napari_elephant.core.synthetic import generate, ground_truth

MEMORY_TARGET_MB = 4096
VOXEL_SIZE = (2.0, 0.5, 0.5)
REPS = 4  # tiles per lateral axis
SEED = 12
MARK = "napari_elephant_big_movie"  # group attribute, set once the movie is complete


@dataclass(frozen=True)
class Sizes:
    shape: tuple[int, int, int, int]  # the movie, (T, Z, Y, X)
    n_initial: int  # nuclei per block at t = 0
    predict: str  # timepoints of the measured run, A:B; the cancelled run starts at B
    cancel_after: int  # timepoints done before the SIGINT
    steps: int  # training steps of the one detection round
    n_import: int  # accepted nuclei imported at t = 0


FULL = Sizes((100, 64, 1024, 1024), 150, "0:3", 2, 10, 10)
QUICK = Sizes((6, 16, 256, 256), 8, "0:2", 2, 3, 5)


# ------------------------------------------------------------ pure helpers
def tile_block(frame: np.ndarray, reps: int = REPS) -> np.ndarray:
    """One (Z, y, x) block tiled reps × reps laterally, odd rows / columns mirrored,
    so the movie is not a plain repeat and nuclei stay whole across the seams."""
    z, y, x = frame.shape
    out = np.empty((z, y * reps, x * reps), dtype=frame.dtype)
    for i in range(reps):
        for j in range(reps):
            tile = frame[:, :: -1 if i % 2 else 1, :: -1 if j % 2 else 1]
            out[:, i * y : (i + 1) * y, j * x : (j + 1) * x] = tile
    return out


_BAR = re.compile(r"(\w+) (\d+)/(\d+)  ([\d.]+) s")
_DONE = re.compile(r"t=(\d+): (\d+) nuclei")


def parse_progress(text: str) -> tuple[int, int, float] | None:
    """(step, total, elapsed s) of the last progress record drawn in ``text``."""
    found = _BAR.findall(text)
    if not found:
        return None
    _, step, total, elapsed = found[-1]
    return int(step), int(total), float(elapsed)


def finished_timepoints(text: str) -> dict[int, int]:
    """{t: nuclei found} of every timepoint the predict bar reported done."""
    return {int(t): int(n) for t, n in _DONE.findall(text)}


def read_vmhwm(status: Path) -> int | None:
    """VmHWM, the peak resident set so far (KiB), from a /proc/PID/status file;
    None once the process has exited (a zombie has no memory lines)."""
    try:
        found = re.search(r"^VmHWM:\s*(\d+)", status.read_text(), re.M)
    except OSError:
        return None
    return int(found.group(1)) if found else None


def judge_cancel(reported: dict[int, int], saved: dict[int, int], a: int, b: int) -> dict:
    """Did the interrupted run over [a, b) keep what it finished, and nothing beyond?

    The timepoint in flight at the signal may go either way; a finished one that
    found no nuclei proves nothing, so at least one must have found some.
    """
    last = max(reported, default=a - 1)
    proof = [t for t in sorted(reported) if reported[t] > 0]
    lost = [t for t in proof if saved.get(t, 0) == 0]
    beyond = [t for t in range(last + 2, b) if saved.get(t, 0) > 0]
    return {
        "finished": sorted(reported),
        "in_flight": last + 1 if last + 1 < b else None,
        "lost": lost,
        "saved_beyond": beyond,
        "ok": bool(proof) and not lost and not beyond and last < b - 1,
    }


# ----------------------------------------------------------------- machine
def machine_lines(device: str) -> list[str]:
    """CPU, cores, load and torch: what every figure below depends on."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", info, re.M)
    cores = sorted(os.sched_getaffinity(0))
    lines = [
        f"cpu: {model.group(1) if model else platform.machine()}, {os.cpu_count()} cores, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"python {platform.python_version()}, torch {importlib.metadata.version('torch')}, "
        f"device {device}, the CLI runs on cores {cores} ({len(cores)} torch threads)",
    ]
    if device != "cpu":
        import torch  # only here: keeps this process small on a CPU

        if torch.cuda.is_available():
            props = torch.cuda.get_device_properties(0)
            lines.append(f"gpu: {props.name}, {props.total_memory / 2**30:.0f} GiB")
    return lines


# ------------------------------------------------------------------- movie
class TiledMovie:
    """A lazy (T, Z, Y, X) movie for write_ome_zarr: the first ``len(block)``
    timepoints tile the block, the rest are zeros (the fill value, never stored)."""

    def __init__(self, block: np.ndarray, n_t: int, reps: int = REPS) -> None:
        _, z, y, x = block.shape
        self.block, self.reps, self.ndim = block, reps, 4
        self.shape, self.dtype = (n_t, z, y * reps, x * reps), block.dtype

    def __getitem__(self, t: int) -> np.ndarray:
        if t < len(self.block):
            return tile_block(self.block[t], self.reps)
        return np.zeros(self.shape[1:], dtype=self.dtype)


def block_args(s: Sizes, k: int) -> dict:
    """The synthetic block behind the first ``k`` timepoints."""
    _, z, y, x = s.shape
    return {"shape": (k, z, y // REPS, x // REPS), "n_initial": s.n_initial}


def make_movie(path: Path, s: Sizes, k: int) -> dict:
    """Write the movie, or reuse a complete one of that shape; its figures."""
    if path.exists():
        mark = zarr.open_group(str(path), mode="r").attrs.get(MARK) or {}
        if mark.get("written") != k or tuple(open_image(path).data.shape) != s.shape:
            sys.exit(f"{path} is not a complete {s.shape} movie with {k} real timepoints")
        return {"reused": True, "written_timepoints": k}
    start = time.perf_counter()
    block = generate("default", seed=SEED, **block_args(s, k)).image
    rendered = time.perf_counter()
    _, z, y, x = s.shape
    chunks = (1, min(16, z), y // REPS, x // REPS)
    write_ome_zarr(path, TiledMovie(block, s.shape[0]), VOXEL_SIZE, chunks=chunks)
    written = time.perf_counter() - rendered
    zarr.open_group(str(path), mode="r+").attrs[MARK] = {"written": k, "seed": SEED}
    disk = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    raw = k * z * y * x * 2
    print(
        f"block rendered in {rendered - start:.1f} s; written in {written:.1f} s "
        f"({written / k:.2f} s per real timepoint, {raw / written / 1e6:.0f} MB/s raw), "
        f"{disk / 1e9:.2f} GB on disk"
    )
    figures = {"reused": False, "written_timepoints": k, "render_s": rendered - start}
    return figures | {"write_s": written, "raw_gb": raw / 1e9, "disk_gb": disk / 1e9}


# --------------------------------------------------------------- workspace
def cli(*args: object) -> list[str]:
    return [sys.executable, "-m", "napari_elephant", *map(str, args)]


def run_cli(*args: object) -> str:
    """Run one command to completion and print its stdout (exit on failure)."""
    done = subprocess.run(cli(*args), capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        sys.exit(f"napari-elephant {args[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    print(done.stdout.strip())
    return done.stdout.strip()


def write_annotations(path: Path, s: Sizes) -> int:
    """A CSV of up to n_import truth nuclei of t = 0 lying well inside the first
    (unmirrored) tile; how many."""
    _, z, y, x = block_args(s, 1)["shape"]
    truth = ground_truth("default", seed=SEED, **block_args(s, 1))
    far = np.array(VOXEL_SIZE) * (np.array([z, y, x]) - 1) - 5.0
    inside = [n for n in truth.nuclei_at(0) if np.all(np.array(n.center) > 5.0)]
    graph = TrackingGraph()
    graph.add_nuclei([n for n in inside if np.all(np.array(n.center) < far)][: s.n_import])
    write_csv(graph, path)
    return len(graph)


def make_workspace(ws: Path, movie: Path, s: Sizes, device: str) -> dict:
    """init, import, one short detection round: timings and the CLI's lines."""
    start = time.perf_counter()
    out = {"init": run_cli("init", ws, "--image", movie)}
    out["imported"] = write_annotations(ws.parent / "annotations.csv", s)
    out["import"] = run_cli("import", ws, ws.parent / "annotations.csv")
    trained = time.perf_counter()
    out["train"] = run_cli("train-detection", ws, "--steps", s.steps, "--device", device)
    return out | {"setup_s": trained - start, "train_s": time.perf_counter() - trained}


# ------------------------------------------------------ watching a command
@dataclass
class Watched:
    returncode: int
    stdout: str
    stderr: str  # what the terminal received, bar redraws (\r) included
    seconds: float
    vmhwm_mb: float  # peak RSS, polled
    ru_maxrss_mb: float  # wait4's: includes this process's peak at the spawn
    signalled_at: float | None


def pump(streams: dict[int, bytearray], timeout: float) -> None:
    """Read whatever is ready; a stream at its end (EIO from a pty) is dropped."""
    ready, _, _ = select.select(list(streams), [], [], timeout)
    for fd in ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if data:
            streams[fd] += data
        else:
            del streams[fd]


def watch(cmd: list[str], stop_when: Callable[[str], bool] | None = None) -> Watched:
    """Run ``cmd`` with stderr on a pty (a terminal, so the bar redraws in place),
    polling its peak RSS; SIGINT once ``stop_when(stderr so far)`` holds."""
    master, slave = pty.openpty()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    out, err = bytearray(), bytearray()
    streams = {master: err, proc.stdout.fileno(): out}
    peak, signalled = 0, None
    while (ended := os.wait4(proc.pid, os.WNOHANG))[0] == 0:
        pump(streams, 0.2)
        peak = max(peak, read_vmhwm(Path(f"/proc/{proc.pid}/status")) or 0)
        due = stop_when is not None and stop_when(err.decode("utf-8", "replace"))
        signalled = nudge(proc, time.perf_counter() - start, signalled, due)
    while streams:
        pump(streams, 0.05)
    proc.returncode = os.waitstatus_to_exitcode(ended[1])
    proc.stdout.close()
    os.close(master)
    text, seconds = err.decode("utf-8", "replace"), time.perf_counter() - start
    rss = ended[2].ru_maxrss / 1024
    return Watched(proc.returncode, out.decode(), text, seconds, peak / 1024, rss, signalled)


def nudge(proc: subprocess.Popen, now: float, signalled: float | None, due: bool) -> float | None:
    """SIGINT (a user's Ctrl-C) once due, SIGKILL if the run still goes on 10 minutes
    later; when the SIGINT went."""
    if signalled is None and due:
        proc.send_signal(signal.SIGINT)
        return now
    if signalled is not None and now - signalled > 600:
        proc.kill()
    return signalled


def screen_lines(stderr: str, bar: bool = False) -> list[str]:
    """What a terminal showed, one entry per line or bar redraw (``bar``: redraws only)."""
    lines = [p.strip() for p in re.split(r"[\r\n]+", stderr) if p.strip()]
    return [p for p in lines if _BAR.search(p)] if bar else lines


# ---------------------------------------------------------------- sections
def predict_section(ws: Path, s: Sizes, device: str) -> dict:
    """The measured run: seconds per timepoint, voxels/s, peak RSS."""
    w = watch(cli("predict", ws, "--timepoints", s.predict, "--device", device))
    if w.returncode != 0:
        sys.exit(f"predict failed ({w.returncode}):\n{w.stderr[-3000:]}")
    print("\n".join([*screen_lines(w.stderr, bar=True), w.stdout.strip()]))
    done, last = finished_timepoints(w.stderr), parse_progress(w.stderr)
    n, elapsed = len(done), last[2] if last else w.seconds
    p = {"timepoints": n, "nuclei": done, "wall_s": w.seconds, "s_per_timepoint": elapsed / n}
    p |= {"voxels_per_s": n * np.prod(s.shape[1:]) / elapsed, "startup_s": w.seconds - elapsed}
    p |= {"projected_all_h": (p["s_per_timepoint"] * s.shape[0] + p["startup_s"]) / 3600}
    p |= {"peak_rss_mb": w.vmhwm_mb, "ru_maxrss_mb": w.ru_maxrss_mb}
    p |= {"bar_redraws": len(screen_lines(w.stderr, bar=True))}
    print(
        f"{n} timepoints: {p['s_per_timepoint']:.1f} s per timepoint, "
        f"{p['voxels_per_s'] / 1e6:.2f} Mvoxel/s (+ {p['startup_s']:.1f} s start-up and save); "
        f"projected for all {s.shape[0]}: {p['projected_all_h']:.2f} h\n"
        f"peak RSS {w.vmhwm_mb:.0f} MB (VmHWM, polled every 0.2 s); ru_maxrss "
        f"{w.ru_maxrss_mb:.0f} MB (an upper bound: counts this process's peak at the spawn)"
    )
    return p


def saved_predictions(ws: Path, timepoints: range) -> dict[int, int]:
    """Predicted nuclei per timepoint in the workspace as saved on disk (none: left out)."""
    from napari_elephant.core.workspace import Workspace

    graph = Workspace.open(ws).graph
    counts = {t: sum(n.status == Status.PREDICTED for n in graph.nuclei_at(t)) for t in timepoints}
    return {t: c for t, c in counts.items() if c}


def cancel_section(ws: Path, s: Sizes, device: str) -> dict:
    """SIGINT after ``cancel_after`` timepoints; what the workspace kept."""
    a, b = int(s.predict.split(":")[1]), s.shape[0]
    cmd = cli("predict", ws, "--timepoints", f"{a}:{b}", "--device", device)
    w = watch(cmd, lambda text: len(finished_timepoints(text)) >= s.cancel_after)
    reported, saved = finished_timepoints(w.stderr), saved_predictions(ws, range(a, b))
    c = judge_cancel(reported, saved, a, b) | {"reported": reported, "saved": saved}
    last = (screen_lines(w.stderr) or [""])[-1]
    c |= {"range": [a, b], "returncode": w.returncode, "last_line": last}
    c |= {"signal_at_s": w.signalled_at, "exit_after_signal_s": w.seconds - (w.signalled_at or 0)}
    print(
        f"SIGINT at {w.signalled_at or 0:.1f} s, exit {w.returncode} "
        f"{c['exit_after_signal_s']:.1f} s later: {last!r}\n"
        f"finished (bar, t: nuclei): {reported}; in flight: t={c['in_flight']}\n"
        f"saved predictions in {a}..{b - 1}: {saved}"
    )
    if c["lost"] or c["saved_beyond"]:
        print(f"lost {c['lost']}; saved past the one in flight {c['saved_beyond']}")
    return c


def checks(p: dict, c: dict, s: Sizes) -> list[tuple[str, bool]]:
    return [
        ("a progress bar was drawn for every timepoint", p["bar_redraws"] >= p["timepoints"]),
        (
            f"peak memory predicting {s.shape[1:]} timepoints < {MEMORY_TARGET_MB / 1024:g} GB",
            0 < p["peak_rss_mb"] < MEMORY_TARGET_MB,
        ),
        ("a cancelled run keeps the timepoints it finished, and only those", c["ok"]),
    ]


# -------------------------------------------------------------------- main
def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--movie", type=Path, help="the OME-Zarr (default: in the temp folder)")
    ap.add_argument("--write-timepoints", type=int, help="real timepoints (default: all)")
    ap.add_argument("--timepoints", help="the measured predict run, A:B (default 0:3)")
    ap.add_argument("--threads", type=int, default=0, help="cores for the CLI (0: all)")
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--quick", action="store_true", help="smoke test: a small movie")
    ap.add_argument("--json", type=Path, help="write every figure here")
    return ap.parse_args()


def settle(args: argparse.Namespace) -> tuple[Sizes, int, Path]:
    """The sizes, the real timepoints and the movie's path; the CLI's cores pinned."""
    s = QUICK if args.quick else FULL
    if args.timepoints:
        s = Sizes(s.shape, s.n_initial, args.timepoints, s.cancel_after, s.steps, s.n_import)
    t, b = s.shape[0], int(s.predict.split(":")[1])
    k = args.write_timepoints or t
    if not b + s.cancel_after <= k <= t:
        sys.exit(
            f"--write-timepoints must be in {b + s.cancel_after}..{t}: the cancelled run "
            f"starts at t={b} and its first {s.cancel_after} timepoints must be real"
        )
    if args.threads > 0:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.threads])
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(args.threads)
    name = f"napari_elephant_big_movie_{'x'.join(map(str, s.shape))}_k{k}_s{SEED}.ome.zarr"
    return s, k, args.movie or Path(tempfile.gettempdir()) / name


def run(args: argparse.Namespace) -> dict:
    s, k, path = settle(args)
    figures: dict = {"sizes": asdict(s), "machine": machine_lines(args.device)}
    print("\n".join(figures["machine"]))
    if args.quick:
        print("QUICK run: a small movie, not the 100 × 64 × 1024 × 1024 target")
    print(f"\n== movie {path}: {'×'.join(map(str, s.shape))} uint16, voxel {VOXEL_SIZE} µm ==")
    figures["movie"] = m = make_movie(path, s, k)
    rest = f", {k}..{s.shape[0] - 1} the fill value 0" if k < s.shape[0] else ""
    print(("reused; " if m["reused"] else "") + f"timepoints 0..{k - 1} real{rest}")
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "big.elephant"
        print("\n== workspace: init, import, train-detection ==")
        figures["workspace"] = make_workspace(ws, path, s, args.device)
        print(f"\n== predict --timepoints {s.predict} (on a terminal) ==")
        figures["predict"] = predict_section(ws, s, args.device)
        print(f"\n== predict the rest, SIGINT after {s.cancel_after} timepoints ==")
        figures["cancel"] = cancel_section(ws, s, args.device)
    figures["checks"] = checks(figures["predict"], figures["cancel"], s)
    print()
    for label, ok in figures["checks"]:
        print(f"{'PASS' if ok else 'FAIL'}  {label}" + ("  [quick]" if args.quick else ""))
    return figures


def main() -> None:
    args = parse_args()
    figures = run(args)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))


if __name__ == "__main__":
    main()
