"""Forms from the parameter models: widgets by type, lenient parsing, validation."""

from __future__ import annotations

from qtpy.QtWidgets import QAbstractSpinBox, QCheckBox, QComboBox, QLineEdit

from napari_elephant._qt.param_form import ParamForm, format_value, parse_text
from napari_elephant.core.params import DetectionParams, TrainingParams


def test_text_fields_read_numbers_tuples_none_and_words() -> None:
    assert parse_text(" 3 ") == 3 and parse_text("2e-3") == 0.002
    assert parse_text("(16, 64, 64)") == (16, 64, 64) and parse_text("") is None
    assert parse_text("None") is None and parse_text("auto") == "auto"
    assert format_value((1 / 10, 0.5)) == "0.1, 0.5" and format_value(None) == ""


def test_widgets_follow_the_field_types_and_edits_reach_the_model(qtbot) -> None:
    changed = []
    form = ParamForm(TrainingParams, on_change=changed.append)
    qtbot.addWidget(form)
    assert not form.isEnabled()  # nothing bound yet
    params = TrainingParams()
    form.set_model(params)
    w = {n: e.widget for n, e in form.editors.items()}  # magicgui's, but for the text fields
    assert isinstance(w["mode"], QComboBox) and isinstance(w["augment"], QCheckBox)
    assert isinstance(w["steps"], QAbstractSpinBox) and type(w["seed"]) is QLineEdit
    assert form.widget("steps").minimum() == 1 and form.widget("epochs").maximum() == 1000
    form.widget("mode").setCurrentText("batch")
    seed = form.widget("seed")
    seed.setText("7")
    seed.editingFinished.emit()
    assert (params.mode, params.seed) == ("batch", 7) and len(changed) == 2
    seed.setText("")
    seed.editingFinished.emit()
    assert params.seed is None


def test_a_refused_value_is_marked_and_not_kept(qtbot) -> None:
    form = ParamForm(DetectionParams, ["nucleus_diameter", "d_sup"])
    qtbot.addWidget(form)
    params = DetectionParams()
    form.set_model(params)
    radius = form.widget("nucleus_diameter")
    assert radius.text() == "auto"
    radius.setText("-2")
    radius.editingFinished.emit()
    assert params.nucleus_diameter == "auto" and "nucleus_diameter" in form.errors
    assert radius.toolTip().startswith("Not kept:")
    radius.setText("3.5")
    radius.editingFinished.emit()
    assert params.nucleus_diameter == 3.5 and form.errors == {} and radius.styleSheet() == ""
