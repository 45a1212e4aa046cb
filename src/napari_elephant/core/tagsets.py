"""Tag sets, as in Mastodon: named sets of values (e.g. *fate*: neuron, epidermis)
with a colour each, and at most one value of a set per nucleus.

A nucleus carries its values among its free-text tags as ``SET=VALUE`` (so
``fate=neuron``), which every format that keeps tags keeps (GEFF); the CSV
and TrackMate files get one column or feature per set
(:mod:`napari_elephant.core.io.tag_columns`).  The sets themselves — names,
values, colours, their order — are saved in the workspace
(``workspace.json``, ``tag_sets``).  Tagging is one undoable action, on the
selection or on the selection's whole sub-lineage (every descendant along
lineage links).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import TrackingGraph, UpdateNuclei
from napari_elephant.core.graph.limits import lineage_children

SEP = "="
NAME = re.compile(r"^[^=,;\s][^=,;]*$")  # no separator, no list characters, not blank
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
UNTAGGED_COLOR = "#808080"
PALETTE = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6")


def _check_name(value: str, what: str) -> str:
    value = value.strip()
    if not NAME.match(value):
        raise ValueError(f"{what} {value!r} must be non-empty, without '=', ',' or ';'")
    return value


class TagValue(BaseModel):
    """One value of a tag set and the colour it is drawn in."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    color: str = Field(UNTAGGED_COLOR, description="#rrggbb")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_name(value, "tag value")

    @field_validator("color")
    @classmethod
    def _color(cls, value: str) -> str:
        if not COLOR.match(value):
            raise ValueError(f"colour {value!r} must be #rrggbb")
        return value.lower()


class TagSet(BaseModel):
    """A named set of values; a nucleus holds at most one of them."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    values: tuple[TagValue, ...] = ()

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_name(value, "tag set")

    @field_validator("values")
    @classmethod
    def _unique(cls, values: tuple[TagValue, ...]) -> tuple[TagValue, ...]:
        names = [v.name for v in values]
        if len(set(names)) != len(names):
            raise ValueError(f"tag values repeat: {', '.join(names)}")
        return values

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.values]

    def color_of(self, value: str | None) -> str:
        """The value's colour (grey for none or a value the set does not list)."""
        return next((v.color for v in self.values if v.name == value), UNTAGGED_COLOR)

    def with_value(self, name: str, color: str | None = None) -> TagSet:
        """The set with one more value (a colour from the palette by default)."""
        color = color or PALETTE[len(self.values) % len(PALETTE)]
        return TagSet(name=self.name, values=(*self.values, TagValue(name=name, color=color)))


@dataclass(frozen=True)
class TagChoice:
    """What the tag key gives: a value of a set (None: untag), to the sub-lineage too?"""

    set_name: str
    value: str | None
    whole_lineage: bool = False


def _one_line(error: ValidationError) -> InvalidInputError:
    first = error.errors()[0]
    return InvalidInputError(str(first.get("msg", error)).removeprefix("Value error, "))


def new_set(sets: Sequence[TagSet], name: str) -> list[TagSet]:
    """``sets`` with an empty set ``name`` at the end; one-line errors."""
    try:
        made = TagSet(name=name)
    except ValidationError as error:
        raise _one_line(error) from None
    if any(s.name == made.name for s in sets):
        raise InvalidInputError(f"there is a tag set {made.name!r} already")
    return [*sets, made]


def new_value(
    sets: Sequence[TagSet], set_name: str, value: str, color: str | None = None
) -> list[TagSet]:
    """``sets`` with ``value`` added to the set ``set_name``; one-line errors."""
    old = find_set(sets, set_name)
    try:
        grown = old.with_value(value, color)
    except ValidationError as error:
        raise _one_line(error) from None
    return [grown if s is old else s for s in sets]


def recoloured(sets: Sequence[TagSet], set_name: str, value: str, color: str) -> list[TagSet]:
    """``sets`` with ``value`` of ``set_name`` drawn in ``color``; one-line errors."""
    old = find_set(sets, set_name)
    try:
        values = [TagValue(name=v.name, color=color) if v.name == value else v
                  for v in old.values]  # fmt: skip
        changed = TagSet(name=old.name, values=tuple(values))
    except ValidationError as error:
        raise _one_line(error) from None
    return [changed if s is old else s for s in sets]


def find_set(sets: Sequence[TagSet], name: str) -> TagSet:
    """The set called ``name``; a one-line error naming the known sets otherwise."""
    for s in sets:
        if s.name == name:
            return s
    known = ", ".join(s.name for s in sets) or "none yet"
    raise InvalidInputError(f"no tag set {name!r} (known: {known})")


def value_of(tags: Iterable[str], set_name: str) -> str | None:
    """The nucleus' value in ``set_name``, or None."""
    prefix = set_name + SEP
    return next((t[len(prefix) :] for t in tags if t.startswith(prefix)), None)


def retagged(tags: Iterable[str], set_name: str, value: str | None) -> frozenset[str]:
    """``tags`` with the value of ``set_name`` replaced (None: removed)."""
    prefix = set_name + SEP
    kept = {t for t in tags if not t.startswith(prefix)}
    return frozenset(kept | ({prefix + value} if value is not None else set()))


def set_names(tag_lists: Iterable[Iterable[str]]) -> list[str]:
    """The tag sets that values among ``tag_lists`` belong to, sorted."""
    return sorted({t.split(SEP, 1)[0] for tags in tag_lists for t in tags if SEP in t})


def merged_tags(old: Iterable[str], new: Iterable[str]) -> frozenset[str]:
    """``old`` with every set valued in ``new`` given that value (an import that
    names a nucleus' fate replaces the old fate, and keeps the rest)."""
    out = frozenset(old)
    for tag in new:
        name, _, value = tag.partition(SEP)
        out = retagged(out, name, value) if value else out | {tag}
    return out


def sub_lineage(graph: TrackingGraph, ids: Iterable[int]) -> list[int]:
    """``ids`` and every descendant along lineage (not rejected) links, in order."""
    g = graph.nx_graph
    seen: dict[int, None] = {}
    stack = [int(i) for i in ids][::-1]
    while stack:
        nid = stack.pop()
        if nid in seen:
            continue
        seen[nid] = None
        stack += lineage_children(g, nid)[::-1]
    return list(seen)


def tag_nuclei(
    graph: TrackingGraph,
    ids: Iterable[int],
    tag_set: TagSet,
    value: str | None,
    whole_lineage: bool = False,
) -> int:
    """Give nuclei (and, with ``whole_lineage``, their descendants) ``value`` of
    ``tag_set`` (None: untag them), as one undo step; how many changed."""
    if value is not None and value not in tag_set.names:
        raise InvalidInputError(
            f"{value!r} is not a value of tag set {tag_set.name!r} "
            f"({', '.join(tag_set.names) or 'it has none yet'})"
        )
    ids = sub_lineage(graph, ids) if whole_lineage else [int(i) for i in ids]
    changing = [i for i in ids if value_of(graph.nucleus(i).tags, tag_set.name) != value]
    if not changing:
        return 0
    before = tuple(graph.nucleus(i) for i in changing)
    after = tuple(n.with_(tags=retagged(n.tags, tag_set.name, value)) for n in before)
    name = f"tag {tag_set.name}{SEP}{value}" if value else f"untag {tag_set.name}"
    graph.apply(UpdateNuclei(before, after, name=name))
    return len(changing)
