"""The registry of proofreading actions: id, title, default key, group, callable.

Each callable takes the session's :class:`Tools` and does one thing through
the :class:`Editor` (one undo step) or the :class:`Navigator`.  ``hold``
actions are generators: napari runs them up to ``yield`` when the key goes
down and the rest when it comes up.

Prediction, linking and abort are run by the docks of the detection and
linking stages: they put an object with ``predict()``, ``link()`` and
``abort()`` on the session as ``session.jobs``; until then these keys say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from napari_elephant._napari.editing import COARSE, FINE, ROTATE_DEG, STEP, Editor
from napari_elephant._napari.navigation import Navigator
from napari_elephant.core.graph import Status

if TYPE_CHECKING:
    from napari_elephant._napari.viewer_workspace import ViewerWorkspace

NO_RUNNER = "no job runner: open the ELEPHANT dock's Detection or Linking tab"


@dataclass
class Tools:
    """What the key actions of one session work with."""

    session: ViewerWorkspace
    editor: Editor
    navigator: Navigator

    def tell(self, message: str) -> None:
        """A short message in the status bar and as a notification."""
        from napari.utils.notifications import show_info

        self.session.viewer.status = message
        show_info(message)

    def job(self, name: str) -> None:
        runner = getattr(self.session, "jobs", None)
        if runner is None or not callable(getattr(runner, name, None)):
            self.tell(NO_RUNNER)
            return
        getattr(runner, name)()


@dataclass(frozen=True)
class KeyAction:
    """One action: ``call`` names a method of the tools ("editor.scale") and
    ``args`` its arguments, so the registry reads as a table."""

    id: str
    title: str
    key: str  # default, napari's spelling ("Shift+E")
    group: str
    call: str
    args: tuple[Any, ...] = ()
    hold: bool = False

    def run(self, tools: Tools) -> Any:
        owner, name = self.call.rsplit(".", 1) if "." in self.call else ("", self.call)
        target = getattr(tools, owner) if owner else tools
        return getattr(target, name)(*self.args)


EDIT, STATUS, LINKS, NAV, HISTORY, JOBS = (
    "Edit nuclei",
    "Validate",
    "Links and divisions",
    "Navigate",
    "Undo",
    "Jobs",
)
_HELD = {"add", "link_next", "link_previous"}
ACCEPTED, REJECTED, PREDICTED = Status.ACCEPTED, Status.REJECTED, Status.PREDICTED

# fmt: off
_TABLE: tuple[tuple[Any, ...], ...] = (
    # id, title, default key, group, call, *args
    ("add", "Add a nucleus at the cursor (held on a nucleus: a linked one at t + 1)",
     "A", EDIT, "editor.add_gesture"),
    ("delete", "Delete nuclei", "D", EDIT, "editor.delete"),
    ("move", "Move the current nucleus to the cursor", "G", EDIT, "editor.move_to_cursor"),
    ("grow", "Grow", "E", EDIT, "editor.scale", STEP),
    ("shrink", "Shrink", "Q", EDIT, "editor.scale", 1 / STEP),
    ("grow_coarse", "Grow a lot", "Shift+E", EDIT, "editor.scale", COARSE),
    ("shrink_coarse", "Shrink a lot", "Shift+Q", EDIT, "editor.scale", 1 / COARSE),
    ("grow_fine", "Grow a little", "Ctrl+Shift+E", EDIT, "editor.scale", FINE),
    ("shrink_fine", "Shrink a little", "Ctrl+Shift+Q", EDIT, "editor.scale", 1 / FINE),
    ("axis_z", "Pick the z axis (to resize along, rotate about)", "Alt+Z", EDIT,
     "editor.pick_axis", "z"),
    ("axis_y", "Pick the y axis", "Alt+Y", EDIT, "editor.pick_axis", "y"),
    ("axis_x", "Pick the x axis", "Alt+X", EDIT, "editor.pick_axis", "x"),
    ("grow_axis", "Grow along the picked axis", "Alt+E", EDIT, "editor.scale_along_axis", STEP),
    ("shrink_axis", "Shrink along the picked axis", "Alt+Q", EDIT,
     "editor.scale_along_axis", 1 / STEP),
    ("rotate_left", "Rotate about the picked axis (+10°)", "Alt+Left", EDIT,
     "editor.rotate", ROTATE_DEG),
    ("rotate_right", "Rotate about the picked axis (−10°)", "Alt+Right", EDIT,
     "editor.rotate", -ROTATE_DEG),
    ("accept", "Accept", "4", STATUS, "editor.set_status", ACCEPTED),
    ("reject", "Reject", "5", STATUS, "editor.set_status", REJECTED),
    ("reset", "Back to predicted", "0", STATUS, "editor.set_status", PREDICTED),
    ("accept_link", "Accept the link to the parent", "Alt+4", STATUS,
     "editor.set_link_status", ACCEPTED),
    ("reject_link", "Reject the link to the parent", "Alt+5", STATUS,
     "editor.set_link_status", REJECTED),
    ("reset_link", "Link to the parent back to predicted", "Alt+0", STATUS,
     "editor.set_link_status", PREDICTED),
    ("show_rejected", "Show or hide rejected nuclei", "Shift+R", STATUS,
     "editor.toggle_rejected"),
    ("link_next", "Link (held on a nucleus, released on one at a later timepoint)",
     "L", LINKS, "editor.link_gesture", 1),
    ("link_previous", "Link towards the previous timepoint (held, released)",
     "Shift+L", LINKS, "editor.link_gesture", -1),
    ("link_selected", "Link the two selected nuclei", "K", LINKS, "editor.link_selected"),
    ("unlink", "Unlink from the parent (several selected: among them)", "U", LINKS,
     "editor.unlink"),
    ("mark_division", "Mark division", "M", LINKS, "editor.mark_division"),
    ("tag", "Tag with the Tags tab's value (its sub-lineage option too)", "Y", STATUS,
     "editor.tag_selection"),
    ("untag", "Remove the Tags tab's set from the nuclei", "Shift+Y", STATUS,
     "editor.tag_selection", True),
    ("unmark_division", "Unmark division", "Shift+M", LINKS, "editor.unmark_division"),
    ("previous_timepoint", "Previous timepoint (following the track)", "2", NAV,
     "navigator.step", -1),
    ("next_timepoint", "Next timepoint (following the track)", "3", NAV, "navigator.step", 1),
    ("centre", "Centre on the selected nucleus", "W", NAV, "navigator.centre"),
    ("parent", "Go to the parent", "Up", NAV, "navigator.parent"),
    ("child", "Go to the child", "Down", NAV, "navigator.child"),
    ("sibling", "Go to the sibling", "B", NAV, "navigator.sibling"),
    ("next_predicted", "Next unvalidated nucleus", "N", NAV, "navigator.next_predicted"),
    ("next_track_end", "Next track end", "T", NAV, "navigator.next_track_end"),
    ("next_division", "Next division", "F", NAV, "navigator.next_division"),
    ("undo", "Undo", "Ctrl+Z", HISTORY, "editor.undo"),
    ("redo", "Redo", "Ctrl+Shift+Z", HISTORY, "editor.redo"),
    ("predict", "Predict nuclei", "Alt+N", JOBS, "job", "predict"),
    ("link", "Link nuclei (run the linker)", "Alt+K", JOBS, "job", "link"),
    ("abort", "Abort the running job", "Ctrl+C", JOBS, "job", "abort"),
)
# fmt: on

ACTIONS: tuple[KeyAction, ...] = tuple(
    KeyAction(f"elephant:{i}", title, key, group, call, tuple(args), hold=i in _HELD)
    for i, title, key, group, call, *args in _TABLE
)
