"""Tag sets in TrackMate XML: one integer spot feature per set.

TrackMate's spot features are numbers, so a set ``fate`` becomes the feature
``ELEPHANT_TAG_1`` (its short name the set's name), a nucleus' value its
1-based index among the set's values and 0 for none.  The values' names
travel in the feature's declaration, in an ``elephant_values`` attribute
(``neuron|epidermis``) that TrackMate ignores; Fiji shows the indices, and
our reader gives each nucleus its ``fate=neuron`` tag back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import Nucleus
from napari_elephant.core.tagsets import NAME, SEP, set_names, value_of

PREFIX = "ELEPHANT_TAG_"
VALUES_ATTRIBUTE = "elephant_values"
VALUE_SEP = "|"


@dataclass(frozen=True)
class TagFeature:
    """One tag set as a spot feature."""

    feature: str
    set_name: str
    values: tuple[str, ...]

    def code(self, nucleus: Nucleus) -> str:
        value = value_of(nucleus.tags, self.set_name)
        return str(self.values.index(value) + 1 if value in self.values else 0)


def tag_features(nuclei: Iterable[Nucleus]) -> list[TagFeature]:
    """The sets valued among ``nuclei``, each with the values used, sorted."""
    nuclei = list(nuclei)
    out = []
    for k, name in enumerate(set_names(n.tags for n in nuclei), start=1):
        values = sorted({v for n in nuclei if (v := value_of(n.tags, name)) is not None})
        out.append(TagFeature(f"{PREFIX}{k}", name, tuple(values)))
    return out


def declaration(f: TagFeature) -> dict[str, str]:
    """The attributes of the set's <Feature> in SpotFeatures."""
    return {
        "feature": f.feature,
        "name": f"ELEPHANT tag set {f.set_name}",
        "shortname": f.set_name,
        "dimension": "NONE",
        "isint": "true",
        VALUES_ATTRIBUTE: VALUE_SEP.join(f.values),
    }


def declared(model: Element, where: object) -> list[TagFeature]:
    """The tag sets a file declares (none in a file we did not write)."""
    out = []
    for el in model.iterfind("FeatureDeclarations/SpotFeatures/Feature"):
        feature = el.get("feature", "")
        if not feature.startswith(PREFIX) or el.get(VALUES_ATTRIBUTE) is None:
            continue
        name = el.get("shortname", "")
        values = tuple(v for v in el.get(VALUES_ATTRIBUTE, "").split(VALUE_SEP) if v)
        if not NAME.match(name) or not all(NAME.match(v) for v in values):
            raise InvalidInputError(f"{where}: tag feature {feature} has a bad set or value name")
        out.append(TagFeature(feature, name, values))
    return out


def tags_of(spot: Element, features: list[TagFeature], where: str) -> frozenset[str]:
    """The ``SET=VALUE`` tags a spot's tag features give it."""
    tags = set()
    for f in features:
        text = spot.get(f.feature)
        if text is None or text.strip() in ("", "0", "0.0"):
            continue
        try:
            k = int(float(text))
        except ValueError:
            k = -1
        if not 1 <= k <= len(f.values):
            raise InvalidInputError(f"{where}: {f.feature} = {text!r} is not a value of its set")
        tags.add(f"{f.set_name}{SEP}{f.values[k - 1]}")
    return frozenset(tags)
