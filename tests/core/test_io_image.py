"""Lazy image access: every format round-trips values, axes and voxel size."""

from __future__ import annotations

import json
import resource
import struct
from pathlib import Path

import dask.array as da
import h5py
import numpy as np
import pytest
import tifffile
import tifffile.zarr
import zarr
import zarr.storage

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.io.image import (
    AmbiguousAxesError,
    ImageSource,
    detect_format,
    normalize,
    open_image,
    write_ome_zarr,
)
from napari_elephant.core.units import VoxelSize

SHAPE = (3, 4, 8, 8)  # (T, Z, Y, X)
_META_SUFFIXES = ("zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata")


def movie(shape: tuple[int, ...] = SHAPE, dtype: str = "uint16") -> np.ndarray:
    """Distinct values everywhere, so any axis mix-up changes the data."""
    return np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape).astype(dtype)


def assert_one_line_error(path: Path, func, *args, **kwargs) -> str:
    """The call raises InvalidInputError on one line that names ``path``."""
    with pytest.raises(InvalidInputError) as info:
        func(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def assert_voxel(source: ImageSource, zyx: tuple[float, float, float]) -> None:
    assert source.voxel_size is not None
    np.testing.assert_allclose(source.voxel_size.as_tuple(), zyx)


def assert_movie(source: ImageSource, expected: np.ndarray) -> None:
    """4D dask data equal to ``expected``; timepoint() gives float32 of one t."""
    assert isinstance(source.data, da.Array)
    assert source.data.shape == expected.shape
    np.testing.assert_array_equal(source.data.compute(), expected)
    assert source.n_timepoints == expected.shape[0]
    assert source.shape_zyx == expected.shape[1:]
    raw = source.timepoint(expected.shape[0] - 1, normalized=False)
    assert raw.dtype == np.float32
    np.testing.assert_array_equal(raw, expected[-1].astype(np.float32))


# ---------------------------------------------------------------- zarr


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_plain_zarr_array_round_trips(tmp_path: Path, zarr_format: int) -> None:
    path = tmp_path / "movie.zarr"
    zarr.save_array(str(path), movie(), zarr_format=zarr_format)
    source = open_image(path)
    assert_movie(source, movie())
    assert (source.format, source.voxel_size, source.name) == ("zarr", None, "movie")
    assert detect_format(path) == "zarr"


def test_zarr_group_with_one_array_picks_it(tmp_path: Path) -> None:
    path = tmp_path / "g.zarr"
    group = zarr.open_group(str(path), mode="w")
    group.create_group("nested").create_array("raw", data=movie())
    group.create_array("mask", data=np.zeros((8, 8), dtype="u1"))  # 2D: not a candidate
    source = open_image(path)
    assert source.dataset == "nested/raw"
    assert_movie(source, movie())


def test_zarr_group_with_two_arrays_needs_a_dataset(tmp_path: Path) -> None:
    path = tmp_path / "two.zarr"
    group = zarr.open_group(str(path), mode="w")
    group.create_array("a", data=movie())
    group.create_array("b", data=movie() + 1)
    message = assert_one_line_error(path, open_image, path)
    assert "a, b" in message
    assert_movie(open_image(path, dataset="b"), movie() + 1)
    message = assert_one_line_error(path, open_image, path, dataset="nope")
    assert "'nope'" in message


def test_zarr_v3_dimension_names_give_the_axes(tmp_path: Path) -> None:
    path = tmp_path / "named.zarr"
    data = movie((4, 8, 8))
    zarr.create_array(str(path), data=data, dimension_names=("t", "y", "x"))
    source = open_image(path)
    assert source.data.shape == (4, 1, 8, 8)
    np.testing.assert_array_equal(source.data[:, 0].compute(), data)


def test_three_unnamed_axes_are_a_question_not_a_guess(tmp_path: Path) -> None:
    path = tmp_path / "flat.zarr"
    data = movie((5, 8, 8))
    zarr.save_array(str(path), data)
    with pytest.raises(AmbiguousAxesError) as info:
        open_image(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert "(5, 8, 8)" in message and "--axes TYX" in message and "--axes ZYX" in message
    assert info.value.shape == (5, 8, 8)
    assert isinstance(info.value, InvalidInputError)  # the CLI's exit status 2
    stack = open_image(path, axes="zyx")
    assert (stack.data.shape, stack.axes, stack.is_2d) == ((1, 5, 8, 8), "ZYX", False)


def test_2d_movie_with_tyx_axes_gets_z_of_one(tmp_path: Path) -> None:
    path = tmp_path / "flat.zarr"
    data = movie((5, 8, 8))
    zarr.save_array(str(path), data)
    source = open_image(path, axes="tyx")
    assert (source.data.shape, source.axes, source.is_2d) == ((5, 1, 8, 8), "TYX", True)
    assert open_image(source.path, source.dataset, axes=source.axes).data.shape == (5, 1, 8, 8)
    np.testing.assert_array_equal(source.timepoint(2, normalized=False)[0], data[2])


def test_a_2d_movie_keeps_the_nominal_z_of_its_voxel_size(tmp_path: Path) -> None:
    path = tmp_path / "flat.zarr"
    zarr.save_array(str(path), movie((5, 8, 8)))
    source = open_image(path, axes="TYX", voxel_size=(3.0, 0.5, 0.25))  # no z to measure
    assert_voxel(source, (1.0, 0.5, 0.25))
    assert_voxel(open_image(path, axes="TYX", voxel_size=(0.5, 0.25)), (1.0, 0.5, 0.25))


def test_axes_argument_reorders_the_data(tmp_path: Path) -> None:
    path = tmp_path / "zt.zarr"
    zarr.save_array(str(path), movie().transpose(1, 0, 2, 3))  # stored Z, T, Y, X
    assert_movie(open_image(path, axes="ztyx"), movie())


# ------------------------------------------------------------- OME-Zarr


def test_write_ome_zarr_reads_back_with_scale(tmp_path: Path) -> None:
    path = tmp_path / "sample.ome.zarr"
    write_ome_zarr(path, da.from_array(movie(), chunks=(1, 2, 8, 8)), VoxelSize(2.0, 0.5, 0.25))
    source = open_image(path)
    assert_movie(source, movie())
    assert (source.format, source.name) == ("ome-zarr", "sample")
    assert_voxel(source, (2.0, 0.5, 0.25))
    attrs = json.loads((path / ".zattrs").read_text())["multiscales"][0]
    assert attrs["version"] == "0.4"
    assert [a["name"] for a in attrs["axes"]] == ["t", "z", "y", "x"]
    meta = json.loads((path / "0" / ".zarray").read_text())
    assert (meta["dimension_separator"], meta["chunks"]) == ("/", [1, 4, 8, 8])
    assert detect_format(path) == "ome-zarr"
    assert_one_line_error(path, write_ome_zarr, path, movie(), (1, 1, 1))


def _ome_v05(path: Path, data: np.ndarray, axes: str, scale: list[float], unit: str) -> None:
    group = zarr.open_group(str(path), mode="w", zarr_format=3)
    group.create_array("s0", data=data)
    kinds = {"t": "time", "c": "channel"}
    meta = [{"name": a, "type": kinds.get(a, "space")} for a in axes]
    for m in meta:
        if m["type"] == "space":
            m["unit"] = unit
    transform = [{"type": "scale", "scale": scale}]
    group.attrs["ome"] = {
        "version": "0.5",
        "multiscales": [
            {"axes": meta, "datasets": [{"path": "s0", "coordinateTransformations": transform}]}
        ],
    }


def test_ome_zarr_v05_converts_nanometres_and_drops_one_channel(tmp_path: Path) -> None:
    path = tmp_path / "v05.zarr"
    _ome_v05(path, movie()[:, None], "tczyx", [1, 1, 2000, 500, 250], "nanometer")
    source = open_image(path)
    assert_movie(source, movie())
    assert_voxel(source, (2.0, 0.5, 0.25))
    assert_voxel(open_image(path, voxel_size=(3, 1, 1)), (3.0, 1.0, 1.0))  # override wins


def test_ome_zarr_with_two_channels_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rgb.zarr"
    _ome_v05(path, np.stack([movie(), movie()], axis=1), "tczyx", [1] * 5, "micrometer")
    message = assert_one_line_error(path, open_image, path)
    assert "channels" in message


# ----------------------------------------------------------------- HDF5


def test_hdf5_dataset_with_element_size(tmp_path: Path) -> None:
    path = tmp_path / "movie.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("raw", data=movie(), chunks=(1, 2, 8, 8))
        f["raw"].attrs["element_size_um"] = (2.0, 0.5, 0.25)
        f.create_dataset("other", data=movie() * 2)
    message = assert_one_line_error(path, open_image, path)
    assert "other, raw" in message
    source = open_image(path, dataset="raw")
    assert_movie(source, movie())
    assert_voxel(source, (2.0, 0.5, 0.25))
    assert (source.format, source.dataset, detect_format(path)) == ("hdf5", "raw", "hdf5")
    assert_one_line_error(path, open_image, path, dataset="missing")
    source.close()


def test_hdf5_single_dataset_needs_no_key(tmp_path: Path) -> None:
    path = tmp_path / "one.hdf5"
    with h5py.File(path, "w") as f:
        f.create_dataset("group/data", data=movie())
    source = open_image(path)
    assert source.dataset == "group/data"
    assert source.voxel_size is None
    assert_movie(source, movie())


def _write_bdv(path: Path, data: np.ndarray, voxel_xyz: tuple[float, float, float]) -> Path:
    """A BigDataViewer HDF5 + XML pair as Fiji writes them (uint16 stored as int16)."""
    with h5py.File(path, "w") as f:
        f.create_dataset("s00/resolutions", data=[[1.0, 1.0, 1.0], [2.0, 2.0, 1.0]])
        f.create_dataset("s00/subdivisions", data=[[8, 8, 4], [8, 8, 4]], dtype="<i4")
        for t, volume in enumerate(data):
            f.create_dataset(f"t{t:05d}/s00/0/cells", data=volume.view(np.int16))
            f.create_dataset(f"t{t:05d}/s00/1/cells", data=volume[:, ::2, ::2].view(np.int16))
    z, y, x = data.shape[1:]
    xml = path.with_suffix(".xml")
    xml.write_text(
        f"""<?xml version="1.0" encoding="UTF-8"?>
<SpimData version="0.2"><BasePath type="relative">.</BasePath><SequenceDescription>
<ImageLoader format="bdv.hdf5"><hdf5 type="relative">{path.name}</hdf5></ImageLoader>
<ViewSetups><ViewSetup><id>0</id><name>0</name><size>{x} {y} {z}</size>
<voxelSize><unit>µm</unit><size>{voxel_xyz[0]} {voxel_xyz[1]} {voxel_xyz[2]}</size></voxelSize>
</ViewSetup></ViewSetups></SequenceDescription></SpimData>""",
        encoding="utf-8",
    )
    return xml


def test_bdv_hdf5_stacks_timepoints_and_reads_xyz_voxel_size(tmp_path: Path) -> None:
    path = tmp_path / "embryo.h5"
    data = movie() + 40000  # above int16's range: checks the unsigned reinterpretation
    xml = _write_bdv(path, data, voxel_xyz=(0.25, 0.5, 2.0))
    for opened in (path, xml):
        source = open_image(opened)
        assert (source.format, source.dataset) == ("bdv", "s00")
        assert source.data.dtype == np.uint16
        assert_movie(source, data)
        assert_voxel(source, (2.0, 0.5, 0.25))
        source.close()
    assert detect_format(path) == detect_format(xml) == "bdv"
    xml.unlink()
    assert open_image(path).voxel_size is None


def test_bdv_with_several_setups_needs_a_choice(tmp_path: Path) -> None:
    path = tmp_path / "views.h5"
    _write_bdv(path, movie(), voxel_xyz=(1.0, 1.0, 1.0))
    with h5py.File(path, "a") as f:
        f.create_dataset("s01/resolutions", data=[[1.0, 1.0, 1.0]])
        for t, volume in enumerate(movie() + 7):
            f.create_dataset(f"t{t:05d}/s01/0/cells", data=volume.view(np.int16))
    assert "s00, s01" in assert_one_line_error(path, open_image, path)
    for key in ("1", "s01"):
        source = open_image(path, dataset=key)
        assert source.dataset == "s01"
        assert source.voxel_size is None  # the XML describes setup 0 only
        assert_movie(source, movie() + 7)
    assert_one_line_error(path, open_image, path, dataset="s02")


# ----------------------------------------------------------------- TIFF


def test_imagej_hyperstack_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "stack.tif"
    tifffile.imwrite(
        path,
        movie(),
        imagej=True,
        resolution=(1 / 0.5, 1 / 0.5),
        metadata={"spacing": 2.0, "unit": "um", "axes": "TZYX"},
    )
    source = open_image(path)
    assert_movie(source, movie())
    assert_voxel(source, (2.0, 0.5, 0.5))
    assert (source.format, detect_format(path)) == ("tiff", "tiff")
    source.close()


def test_impossible_metadata_is_reported_with_the_path(tmp_path: Path) -> None:
    path = tmp_path / "negative.tif"
    meta = {"spacing": -2.0, "unit": "um", "axes": "TZYX"}
    tifffile.imwrite(path, movie(), imagej=True, resolution=(2, 2), metadata=meta)
    assert "positive" in assert_one_line_error(path, open_image, path)


def test_imagej_hyperstack_with_one_channel(tmp_path: Path) -> None:
    path = tmp_path / "tzcyx.tif"
    tifffile.imwrite(path, movie()[:, :, None], imagej=True, metadata={"axes": "TZCYX"})
    source = open_image(path)
    assert source.voxel_size is None  # no unit: nothing to trust
    assert_movie(source, movie())


@pytest.mark.parametrize(("axes", "shape"), [("TYX", (5, 1, 8, 8)), ("ZYX", (1, 5, 8, 8))])
def test_imagej_tiff_axes_say_2d_movie_or_stack(tmp_path: Path, axes: str, shape: tuple) -> None:
    path = tmp_path / "named.tif"
    tifffile.imwrite(path, movie((5, 8, 8)), imagej=True, metadata={"axes": axes})
    source = open_image(path)  # named axes: no question
    assert (source.data.shape, source.is_2d) == (shape, axes == "TYX")


def test_hdf5_3d_without_axistags_needs_its_axes(tmp_path: Path) -> None:
    path = tmp_path / "flat.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("raw", data=movie((5, 8, 8)))
    assert "--axes ZYX" in assert_one_line_error(path, open_image, path)
    assert open_image(path, axes="TYX").data.shape == (5, 1, 8, 8)


@pytest.mark.parametrize("metadata", [None, {}], ids=["IYX", "QYX"])
def test_plain_multipage_tiff_needs_its_axes(tmp_path: Path, metadata: dict | None) -> None:
    path = tmp_path / "pages.tiff"
    data = movie((5, 8, 8))
    tifffile.imwrite(path, data, metadata=metadata)  # tifffile's unknown axis letters
    assert "--axes TYX" in assert_one_line_error(path, open_image, path)
    assert open_image(path, axes="ZYX").data.shape == (1, 5, 8, 8)
    source = open_image(path, axes="TYX", voxel_size=VoxelSize(1.0, 0.3, 0.3))
    assert source.data.shape == (5, 1, 8, 8)
    assert_voxel(source, (1.0, 0.3, 0.3))
    np.testing.assert_array_equal(source.data[:, 0].compute(), data)


def test_ome_tiff_physical_size(tmp_path: Path) -> None:
    path = tmp_path / "movie.ome.tif"
    meta = {"axes": "TZYX", "PhysicalSizeX": 250, "PhysicalSizeY": 500, "PhysicalSizeZ": 2}
    meta |= {"PhysicalSizeXUnit": "nm", "PhysicalSizeYUnit": "nm"}
    tifffile.imwrite(path, movie(), ome=True, metadata=meta)
    source = open_image(path)
    assert source.name == "movie"
    assert_movie(source, movie())
    assert_voxel(source, (2.0, 0.5, 0.25))


# ------------------------------------------------------------- laziness


def _count_reads(monkeypatch: pytest.MonkeyPatch, cls: type) -> list[str]:
    """Record every chunk key a zarr store class is asked for (metadata excluded)."""
    keys: list[str] = []
    original = cls.get

    async def counting(self, key, *args, **kwargs):
        if not key.endswith(_META_SUFFIXES):
            keys.append(key)
        return await original(self, key, *args, **kwargs)

    monkeypatch.setattr(cls, "get", counting)
    return keys


def test_opening_zarr_reads_no_chunk_and_timepoint_reads_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "lazy.ome.zarr"
    write_ome_zarr(path, movie(), (1, 1, 1))
    keys = _count_reads(monkeypatch, zarr.storage.LocalStore)
    source = open_image(path)
    assert keys == []
    source.timepoint(1)
    assert len(keys) == 1  # one chunk = one timepoint


def test_opening_a_huge_zarr_costs_nothing(tmp_path: Path) -> None:
    path = tmp_path / "huge.zarr"
    shape, chunks = (1000, 200, 2048, 2048), (1, 8, 256, 256)
    zarr.create_array(str(path), shape=shape, chunks=chunks, dtype="u2")  # no chunk written
    source = open_image(path)  # 1.6 TB if it were read
    assert (source.data.shape, source.data.chunksize) == (shape, chunks)


def test_hdf5_and_tiff_read_only_on_demand(tmp_path: Path, monkeypatch) -> None:
    h5 = tmp_path / "lazy.h5"
    with h5py.File(h5, "w") as f:
        f.create_dataset("raw", data=movie())
    tif = tmp_path / "lazy.tif"
    tifffile.imwrite(tif, movie(), imagej=True, metadata={"axes": "TZYX"})
    h5_reads: list[object] = []
    original = h5py.Dataset.__getitem__

    def counting(ds: h5py.Dataset, key: object) -> np.ndarray:
        out = original(ds, key)
        if np.size(out):  # dask probes dtype with an empty slice: not a read
            h5_reads.append(key)
        return out

    monkeypatch.setattr(h5py.Dataset, "__getitem__", counting)
    tif_reads = _count_reads(monkeypatch, tifffile.zarr.ZarrTiffStore)
    sources = [open_image(h5), open_image(tif)]
    assert h5_reads == [] and tif_reads == []
    for source in sources:
        source.timepoint(2)
    assert len(h5_reads) == 1  # one (1, Z, Y, X) block
    assert sorted(tif_reads) == sorted(f"2.{z}.0.0" for z in range(4))  # the 4 pages of t=2


# ------------------------------------------------------------ normalise


def test_normalize_maps_min_to_0_and_max_to_1() -> None:
    volume = np.array([[[10, 20], [30, 50]]], dtype=np.uint16)
    out = normalize(volume)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[[0.0, 0.25], [0.5, 1.0]]])
    assert volume[0, 0, 0] == 10  # the input is not modified


def test_normalize_constant_volume_gives_zeros() -> None:
    out = normalize(np.full((2, 3, 3), 7, dtype=np.uint8))
    assert out.dtype == np.float32
    assert not out.any()


def test_normalize_percentiles_clip_outliers() -> None:
    volume = np.arange(101, dtype=np.float64).reshape(1, 1, 101)
    out = normalize(volume, low=10, high=90)
    assert out[0, 0, 10] == 0.0 and out[0, 0, 90] == 1.0
    assert out.min() == 0.0 and out.max() == 1.0
    np.testing.assert_allclose(out[0, 0, 50], 0.5)
    with pytest.raises(InvalidInputError):
        normalize(volume, low=50, high=50)


def test_timepoint_is_normalised_per_timepoint(tmp_path: Path) -> None:
    path = tmp_path / "n.zarr"
    zarr.save_array(str(path), movie())
    source = open_image(path)
    for t in range(source.n_timepoints):
        volume = source.timepoint(t)
        assert (volume.min(), volume.max()) == (0.0, 1.0)
    message = assert_one_line_error(path, source.timepoint, 3)
    assert "timepoint 3" in message


# --------------------------------------------------------------- errors


def test_missing_path(tmp_path: Path) -> None:
    path = tmp_path / "nothing.zarr"
    assert_one_line_error(path, open_image, path)
    assert detect_format(path) is None


def test_not_an_image(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    for path in (text, empty):
        assert detect_format(path) is None
        assert "not a recognised image" in assert_one_line_error(path, open_image, path)


def test_workspace_and_geff_are_not_images(tmp_path: Path) -> None:
    workspace = tmp_path / "embryo.elephant"
    zarr.open_group(str(workspace), mode="w").create_array("x", data=movie())
    geff = tmp_path / "graph.geff"
    zarr.open_group(str(geff), mode="w").attrs["geff"] = {"geff_version": "1.3"}
    assert detect_format(workspace) is None and detect_format(geff) is None
    assert "workspace" in assert_one_line_error(workspace, open_image, workspace)
    assert "GEFF" in assert_one_line_error(geff, open_image, geff)


def test_wrong_dimensionality(tmp_path: Path) -> None:
    path = tmp_path / "plane.zarr"
    zarr.save_array(str(path), np.zeros((8, 8), dtype="u1"))
    assert "not a 3D+t movie" in assert_one_line_error(path, open_image, path)
    tif = tmp_path / "plane.tif"
    tifffile.imwrite(tif, np.zeros((8, 8), dtype="u1"))
    assert "not a 3D+t movie" in assert_one_line_error(tif, open_image, tif)
    stack = tmp_path / "stack.zarr"
    zarr.save_array(str(stack), movie())
    assert "axes 'TYX'" in assert_one_line_error(stack, open_image, stack, axes="TYX")


def test_bad_voxel_size_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.zarr"
    zarr.save_array(str(path), movie())
    with pytest.raises(InvalidInputError, match="positive"):
        open_image(path, voxel_size=(0.0, 1.0, 1.0))


@pytest.mark.parametrize("name", ["broken.h5", "broken.tif"])
def test_corrupted_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\x00garbage" * 20)
    assert "cannot read" in assert_one_line_error(path, open_image, path)


def test_corrupted_zarr_metadata(tmp_path: Path) -> None:
    path = tmp_path / "bad.zarr"
    path.mkdir()
    (path / "zarr.json").write_text("{ not json")
    assert detect_format(path) == "zarr"
    assert "cannot read" in assert_one_line_error(path, open_image, path)


def test_corrupted_chunk_fails_on_read_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "chunk.ome.zarr"
    write_ome_zarr(path, movie(), (1, 1, 1))
    (path / "0" / "1" / "0" / "0" / "0").write_bytes(b"not blosc")
    source = open_image(path)
    source.timepoint(0)
    assert "timepoint 1" in assert_one_line_error(path, source.timepoint, 1)


def _claim_size(path: Path, width: int, height: int) -> None:
    """Overwrite every page's ImageWidth and ImageLength tags (a damaged header)."""
    with tifffile.TiffFile(path) as tif:
        places = [(p.tags[c].valueoffset, p.tags[c].dtype) for p in tif.pages for c in (256, 257)]
    raw = bytearray(path.read_bytes())
    for k, (offset, dtype) in enumerate(places):
        value = width if k % 2 == 0 else height
        raw[offset : offset + (2 if dtype == 3 else 4)] = (
            struct.pack("<H", min(value, 65535)) if dtype == 3 else struct.pack("<I", value)
        )
    path.write_bytes(raw)


@pytest.mark.parametrize(
    "width, height", [(10**6, 10**6), (16, 2**32 - 1), (2**32 - 1, 2**32 - 1)]
)
def test_a_header_claiming_huge_pages_is_one_line_before_any_allocation(tmp_path, width, height):
    path = tmp_path / "claims.tif"
    tifffile.imwrite(path, movie()[:, 0], imagej=True, metadata={"axes": "TYX"})
    _claim_size(path, width, height)  # up to 1.8e19 pixels a page, in a 4 kB file
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    message = assert_one_line_error(path, open_image, path, voxel_size=(1, 1, 1), axes="TYX")
    assert "damaged" in message
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 50


def test_a_zarr_claiming_more_than_the_memory_is_refused_per_timepoint(tmp_path):
    path = tmp_path / "claims.zarr"
    zarr.create_array(
        str(path), shape=(2, 10**4, 10**5, 10**5), chunks=(1, 1, 512, 512), dtype="u1"
    )
    source = open_image(path, voxel_size=(1.0, 1.0, 1.0))
    assert "GiB" in assert_one_line_error(path, source.timepoint, 1)


@pytest.mark.parametrize("z", [0.0, -2.0, float("nan")])
def test_an_ome_zarr_scale_of_zero_or_below_is_one_line(tmp_path: Path, z: float) -> None:
    path = tmp_path / "bad_scale.zarr"
    _ome_v05(path, movie(), "tzyx", [1, z, 0.5, 0.5], "micrometer")
    assert "positive" in assert_one_line_error(path, open_image, path)


@pytest.mark.parametrize("size", ["0.0", "-.5", "nan"])  # as long as "1.0": the XML keeps its size
def test_an_ome_tiff_physical_size_of_zero_or_below_is_one_line(tmp_path: Path, size) -> None:
    path = tmp_path / "bad.ome.tif"
    meta = {"axes": "TZYX", "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5, "PhysicalSizeZ": 1.0}
    tifffile.imwrite(path, movie(), ome=True, metadata=meta)
    text = path.read_bytes().replace(b'PhysicalSizeZ="1.0"', f'PhysicalSizeZ="{size}"'.encode())
    path.write_bytes(text)
    assert "positive" in assert_one_line_error(path, open_image, path)
