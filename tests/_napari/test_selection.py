from napari_elephant._napari.selection import Selection


def record(sel: Selection) -> list:
    seen: list = []
    sel.events.changed.connect(lambda ids, cur: seen.append((set(ids), cur)))
    return seen


def test_select_sets_ids_and_current_and_emits_once_per_change():
    sel = Selection()
    seen = record(sel)
    sel.select([3, 5])
    sel.select([3, 5])  # no change, no event
    assert sel.ids == {3, 5} and sel.current == 5 and 5 in sel and len(sel) == 2
    assert seen == [({3, 5}, 5)]


def test_add_and_toggle_keep_current_in_the_selection():
    sel = Selection()
    sel.select_one(1)
    sel.select([2], add=True)
    assert sel.ids == {1, 2} and sel.current == 2
    sel.toggle(2)
    assert sel.ids == {1} and sel.current == 1
    sel.toggle(7)
    assert sel.ids == {1, 7} and sel.current == 7


def test_discard_forgets_deleted_nuclei_and_clear_empties():
    sel = Selection()
    sel.select([1, 2, 3], current=2)
    sel.discard([2, 9])
    assert sel.ids == {1, 3} and sel.current in {1, 3}
    sel.select_one(None)
    assert sel.ids == frozenset() and sel.current is None
