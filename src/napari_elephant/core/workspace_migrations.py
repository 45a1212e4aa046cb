"""Upgrades of ``workspace.json`` from one format version to the next.

Each function takes the settings dict of version N and returns it in version
N + 1; :mod:`~napari_elephant.core.workspace` chains them when it opens an
older workspace, so a user's folder keeps working after an upgrade.
"""

from __future__ import annotations

from typing import Any

# Size settings of format 1 that were fixed µm values (tuned on 3 µm synthetic
# nuclei); a workspace still holding them gets the sizes that follow its data.
_V1_SIZE_DEFAULTS = {"r_max": 8.0, "d_sup": 2.0}
_V1_CROP = [16, 64, 64]


def v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Format 2 derives every size from the nucleus diameter: ``nucleus_radius`` (a
    number) becomes ``nucleus_diameter``, ``default_radius`` goes, and the old fixed
    defaults of ``r_max``, ``d_sup``, ``r_min`` and the crop size become ``auto``."""
    params = data.get("parameters")
    if not isinstance(params, dict):
        return data
    det = params.get("detection")
    if isinstance(det, dict):
        radius = det.pop("nucleus_radius", "auto")
        det.pop("default_radius", None)
        if isinstance(radius, int | float) and not isinstance(radius, bool):
            det["nucleus_diameter"] = 2.0 * float(radius)
        for key, old in _V1_SIZE_DEFAULTS.items():
            if det.get(key) == old:
                det[key] = "auto"
        if det.get("r_min") == 1.0:
            det["r_min"] = 0.0
    training = params.get("training")
    if isinstance(training, dict) and training.get("crop_size") == _V1_CROP:
        training["crop_size"] = "auto"
    return data


MIGRATIONS: dict[int, Any] = {1: v1_to_v2}
