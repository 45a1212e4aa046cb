"""Parameter sets: one documented, validated model each (DESIGN §3, rule 3).

The same models drive the CLI flags, the dock forms (titles and tooltips come
from the field descriptions) and what the workspace stores, so a value can
only ever mean one thing.  Defaults follow the ELEPHANT paper's Methods; the
engines that use them document where they were tuned.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


class DetectionParams(_Params):
    """Labels for training and post-processing of the detection output."""

    center_ratio: float = Field(
        0.5,
        gt=0,
        lt=1,
        title="Centre ratio",
        description="Fraction of each ellipsoid's radii labelled 'nucleus centre'; "
        "the rest is 'periphery'.",
    )
    background_threshold: Annotated[float, Field(ge=0, le=1)] | Literal["auto"] = Field(
        "auto",
        title="Background threshold",
        description="Unannotated voxels whose (lightly smoothed) normalised intensity is "
        "below this are background (0 = none, 1 = every unannotated voxel; auto = a quarter "
        "of the way from the background level to the annotated nuclei).",
    )
    center_threshold: float = Field(
        0.3,
        gt=0,
        lt=1,
        title="Centre probability threshold",
        description="Voxels with a centre probability above this form nucleus cores "
        "(the paper's post-processing).",
    )
    postprocess: Literal["peaks", "paper"] = Field(
        "peaks",
        title="Post-processing",
        description="peaks: one nucleus per peak of the smoothed centre-ness (splits touching "
        "nuclei, keeps dim ones); paper: one per connected component of the thresholded "
        "centre probability.",
    )
    peak_threshold: float = Field(
        0.15,
        gt=0,
        lt=1.5,
        title="Peak threshold",
        description="Peaks of the blob response (scale-normalised LoG of P(centre) + "
        "½ P(periphery)) below this are not nuclei.",
    )
    nucleus_diameter: Annotated[float, Field(gt=0)] | Literal["auto"] = Field(
        "auto",
        title="Nucleus diameter (µm)",
        description="Typical diameter of a nucleus in y and x; every size below follows from "
        "it (the network's grid, the blob filter, suppression, the largest radius, a click's "
        "size).  auto: the median of the accepted nuclei, else estimated from the image.",
    )
    r_min: float = Field(
        0.0,
        ge=0,
        title="Minimum radius (µm)",
        description="Predicted nuclei with a smaller radius are dropped (0: only the "
        "fraction below applies).",
    )
    min_radius_fraction: float = Field(
        0.5,
        ge=0,
        lt=1,
        title="Minimum radius (× nucleus radius)",
        description="Predicted nuclei smaller than this fraction of the typical nucleus "
        "radius are dropped too: after a few rounds a network can mark small noise blobs "
        "far from any nucleus (0: off).",
    )
    r_max: Annotated[float, Field(gt=0)] | Literal["auto"] = Field(
        "auto",
        title="Maximum radius (µm)",
        description="Radii of predicted nuclei are clamped to this (auto: 2.5 × the "
        "nucleus radius).",
    )
    d_sup: Annotated[float, Field(ge=0)] | Literal["auto"] = Field(
        "auto",
        title="Suppression distance (µm)",
        description="Of two nuclei closer than this, the human annotation wins, "
        "then the larger one (auto: ⅔ of the nucleus radius).",
    )


class TrainingParams(_Params):
    """How a model is trained (shared by the detection and flow trainers)."""

    mode: Literal["interactive", "batch"] = Field(
        "interactive",
        title="Mode",
        description="Interactive: a few crops around the latest annotations per round; "
        "batch: epochs over every annotated timepoint.",
    )
    learning_rate: float = Field(2e-3, gt=0, lt=1, title="Learning rate")
    steps: int = Field(
        100,
        ge=1,
        title="Steps per round (interactive)",
        description="Optimiser steps of one interactive round (100 small crops: about 20 s "
        "on two CPU cores).",
    )
    epochs: int = Field(10, ge=1, le=1000, title="Epochs (batch)")
    crop_size: tuple[int, int, int] | Literal["auto"] = Field(
        "auto",
        title="Crop size (z, y, x voxels)",
        description="Size of the training crops in the network's grid voxels (a nucleus is "
        "about 12 wide there); auto: about ten nuclei radii wide (16×64×64 for 4× anisotropic "
        "voxels, 1×128×128 in 2D).  More, smaller crops learn faster per second than fewer "
        "large ones (docs/detection.md).",
    )
    batch_size: int = Field(
        2,
        ge=1,
        le=64,
        title="Crops per step",
        description="Crops in each optimiser step (two are ~1.4× cheaper per crop than one "
        "on a CPU).",
    )
    wt: float = Field(1.0, ge=0, title="Weight of true annotations")
    wf: float = Field(5.0, ge=0, title="Weight of false annotations")
    augment: bool = Field(True, title="Augment (flip, scale, contrast, rotate)")
    average_weights: bool = Field(
        False,
        title="Average the round's weights",
        description="Keep the mean of the weights over the second half of each round "
        "instead of the last step's (steadier rounds; docs/detection.md).",
    )
    hold_unlabelled: float = Field(
        1.0,
        ge=0,
        title="Later rounds: hold what nobody labelled",
        description="Weight of a term that keeps the network's answer on voxels no "
        "annotation labels close to what it was at the start of the round, once the "
        "network has been trained on this workspace: a round learns from the new "
        "annotations without swinging the rest of the prediction (0: off; "
        "docs/detection.md).",
    )
    fine_tune_first_level: bool = Field(
        True,
        title="Fine-tune the first level too",
        description="On (the default), every round trains every level.  Off, a round that "
        "starts from the pretrained model (a workspace's first round) keeps its "
        "full-resolution first level as it is and adapts the rest: a step about a sixth "
        "cheaper on a slow CPU, at the price of a slightly different first round "
        "(docs/detection.md).  Later rounds and a new network always train every level.",
    )
    prior: bool = Field(
        False,
        title="Prior phase from scratch",
        description="Before the first round of a new network, nine steps of the paper's "
        "L_prior (centre ≈ intensity).  Off by default: from five annotations it sometimes "
        "swapped the centre and periphery classes (docs/detection.md).",
    )
    seed: int | None = Field(None, title="Random seed (None: fresh each run)")
    initial_model: Literal["pretrained", "scratch"] = Field(
        "pretrained",
        title="First round starts from",
        description="What the first detection round of a workspace starts from: the generic "
        "pretrained model shipped with napari-elephant (trained on synthetic movies; "
        "docs/detection.md compares the two) or a new network.",
    )


class LinkingParams(_Params):
    """Linking in micrometres: the method, its distances and costs."""

    method: Literal["nn", "flow", "global"] = Field(
        "nn",
        title="Method",
        description="nn: ELEPHANT's nearest neighbour (default; with the coherence rounds "
        "the best on the lineages and movies measured, docs/linking.md); flow: nn with the "
        "flow model; global: frame-pair assignment.",
    )
    along_flow: bool = Field(
        False,
        title="Along the flow model",
        description="Estimate where each nucleus was at t−1 with the trained flow model "
        "before linking, whatever the method (method flow is nn with this on).",
    )
    d_search: Annotated[float, Field(gt=0)] | Literal["auto"] = Field(
        "auto",
        title="Search distance (µm)",
        description="Parents farther than this are not considered (auto: twice the "
        "nuclei's median lateral radius, or 1.5 times their median nearest-neighbour "
        "distance up to three radii, whichever is larger; docs/linking.md).",
    )
    n_max: int = Field(3, ge=1, title="Neighbours tried per nucleus")
    d_disp: Annotated[float, Field(ge=0)] | Literal["auto"] = Field(
        "auto",
        title="Division displacement threshold (µm)",
        description="auto: a third of the nuclei's median lateral radius.",
    )
    d_dist: Annotated[float, Field(ge=0)] | Literal["auto"] = Field(
        "auto",
        title="Division distance threshold (µm)",
        description="auto: a third of the nuclei's median lateral radius.",
    )
    t_max: int = Field(
        0,
        ge=0,
        title="Interpolation: look back (timepoints)",
        description="A nucleus left without a parent looks for a track end up to this many "
        "timepoints back and fills the gap with interpolated nuclei (0 or 1: off; the paper "
        "used 5).",
    )
    coherence_rounds: int = Field(
        3,
        ge=0,
        le=10,
        title="Coherence rounds",
        description="Re-link up to this many times with each nucleus' motion corrected by "
        "the median motion of its 9 nearest neighbours' links, and add divisions by the "
        "daughters' symmetry about their mother (0: off, the paper's linking; "
        "docs/linking.md).",
    )
    learn_divisions: bool = Field(
        True,
        title="Learn divisions from my decisions",
        description="With the coherence rounds: once you have accepted three divisions and "
        "rejected a daughter, leave out second daughters that look less like a division than "
        "the ones you accepted (a model made only where, on your own decisions held out, it "
        "would have caught your rejections; docs/linking.md).",
    )
    start_cost: float = Field(
        1.0,
        ge=0,
        title="Global: track start cost (× d_search²)",
        description="Cost of a nucleus without a parent, in units of the squared search distance.",
    )
    end_cost: float = Field(
        1.0,
        ge=0,
        title="Global: track end cost (× d_search²)",
        description="Cost of a nucleus without a child, in units of the squared search distance.",
    )
    division_cost: float = Field(
        0.1,
        ge=0,
        title="Global: division cost (× d_search²)",
        description="Extra cost of a parent's second child, in units of the squared search "
        "distance.",
    )


class FlowParams(_Params):
    """Training of the flow model (ELEPHANT's L_flow; defaults in docs/flow.md)."""

    network: Literal["default", "paper"] = Field(
        "default",
        title="Network",
        description="default: half the paper's width (fast on a CPU); paper: 5.9 M "
        "parameters. Used when a flow model is created.",
    )
    learning_rate: float = Field(
        1e-3,
        gt=0,
        lt=1,
        title="Learning rate",
        description="Adam's rate for the first half of the steps; a tenth of it after.",
    )
    epochs: int = Field(20, ge=1, le=1000, title="Epochs")
    crops_per_timepoint: int = Field(4, ge=1, le=1000, title="Crops per timepoint and epoch")
    crop_size: tuple[
        Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]
    ] = Field((16, 96, 96), title="Crop size (z, y, x voxels)")
    batch_size: int = Field(2, ge=1, le=64, title="Crops per step")
    scale: tuple[
        Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]
    ] = Field(
        (1 / 10, 1 / 80, 1 / 80),
        title="Flow scale (z, y, x per voxel)",
        description="The network's output range (-1, 1) covers ±1/scale voxels; set when "
        "a flow model is created (a trained model keeps its own).",
    )
    dim_weights: tuple[
        Annotated[float, Field(ge=0)], Annotated[float, Field(ge=0)], Annotated[float, Field(ge=0)]
    ] = Field((1.0, 1.0, 1.0), title="Axis weights (z, y, x) of the flow error")
    alpha: float = Field(1.0, ge=0, title="Weight of the flow error (α)")
    beta: float = Field(0.01, ge=0, title="Weight of the image-warp SSIM term (β)")
    gamma: float = Field(0.01, ge=0, title="Weight of the smoothness term (γ)")
    augment: bool = Field(
        False,
        title="Augment (flip, scale, rotate)",
        description="Teaches motion in any direction (for a model meant for other movies); "
        "learns this movie's motion more slowly.",
    )
    seed: int | None = Field(None, title="Random seed (None: fresh each run)")


class DeviceParams(_Params):
    """Where models run."""

    device: Literal["auto", "cpu", "cuda", "mps"] = Field(
        "auto", title="Device", description="auto: CUDA, then Apple MPS, then CPU."
    )
    cpu_threads: int = Field(
        0,
        ge=0,
        title="CPU threads",
        description="Threads for the CPU; 0 = all cores but one in napari (kept for the "
        "viewer), every core on the command line.",
    )
    precision: Literal["auto", "float32"] = Field(
        "auto",
        title="Precision",
        description="auto: mixed precision where the hardware computes it natively (bf16 "
        "on CUDA GPUs and on CPUs with AVX-512 BF16 or AMX, fp16 on older GPUs), float32 "
        "elsewhere; float32: always full precision.",
    )


class ParameterSets(_Params):
    """Everything a workspace remembers about how to run the engines."""

    detection: DetectionParams = Field(default_factory=DetectionParams)
    training: TrainingParams = Field(default_factory=TrainingParams)
    linking: LinkingParams = Field(default_factory=LinkingParams)
    flow: FlowParams = Field(default_factory=FlowParams)
    device: DeviceParams = Field(default_factory=DeviceParams)
