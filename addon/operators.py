"""Operators: Capture from video (modal, off the UI thread), Retarget motion file / folder / armature.

Every operator also runs synchronously through ``bpy.ops`` from a script or in background mode
(``execute``). Nothing in the scene changes until the work has succeeded; a failure or a cancel
reports a clear message and leaves the scene as it was.
"""
from pathlib import Path

import bpy

from ..inference.pipeline import Cancelled, CaptureOptions, capture
from ..retarget import blender_io
from ..retarget.bvh import tpose_rig
from .jobs import Job


def _settings(context):
    return context.scene.video_mocap


def _options(s) -> CaptureOptions:
    return CaptureOptions(lifter=s.lifter, device=s.device, complete=s.complete, threshold=s.threshold, smooth=s.smooth,
                          fov=s.fov, start=s.frame_start, stop=s.frame_stop or None, fix_swaps=s.fix_swaps,
                          solve=s.solve, person="auto" if s.person < 0 else str(s.person), detector=s.detector,
                          hands=s.hands, moving_camera=s.moving_camera, camera_height=s.camera_height,
                          performer_height=s.performer_height or None)


def _retarget_options(s) -> dict:
    """The panel's retarget settings, as keyword arguments of ``blender_io.retarget_motion``."""
    return dict(preset=s.preset, root_mode=s.root_mode, fix_feet=s.fix_feet, pin_feet=s.pin_feet,
                unseen_fingers=s.unseen_fingers)


def _target(context):
    """The armature to animate: the panel's choice, else the active object, or None."""
    obj = _settings(context).armature or context.object
    return obj if obj is not None and obj.type == "ARMATURE" else None


def _outcome(op, s, work) -> set:
    """Run ``work()`` (it returns a message): show the message, or the error, in the panel and the
    status bar. Errors leave the scene as it was (the work undoes itself)."""
    try:
        message = str(work())
    except Exception as e:  # noqa: BLE001 - shown to the user
        s.status = f"Failed: {e}"
        op.report({"ERROR"}, str(e))
        return {"CANCELLED"}
    s.status = message
    op.report({"INFO"}, message)
    return {"FINISHED"}


def apply_capture(context, motion, video: str) -> str:
    """Put a captured motion on the target armature (or a new one) as a new action; undoable as one step.
    Returns the retarget report, with the capture's own caveat (e.g. no feet seen, so no contacts)."""
    s = _settings(context)
    obj, created = s.armature, None
    if obj is None:
        m = motion.to_frame("blender")
        pos, _, _ = blender_io.prepare(m)
        created = obj = blender_io.create_armature(tpose_rig(pos), Path(video).stem + " rig")
    try:
        report = blender_io.retarget_motion(motion, obj, name=Path(video).stem, **_retarget_options(s))
    except BaseException:
        if created is not None:
            data = created.data
            bpy.data.objects.remove(created)
            bpy.data.armatures.remove(data)
        raise
    s.detected = f"{report.preset}" + (f" (unmapped: {', '.join(report.unmapped)})" if report.unmapped else "")
    if s.load_reference:
        try:
            clip = bpy.data.movieclips.load(bpy.path.abspath(video), check_existing=True)
            clip.frame_start = 1 - s.frame_start
        except RuntimeError:
            pass  # a format Blender's own decoder lacks: the animation is still there
    note = motion.meta.get("contacts_note")
    turned, by = motion.solved_camera.get("turn_deg"), motion.solved_camera.get("turn_from") or "background"
    return (f"{report}" + (f"; {note}" if note else "")
            + (f"; the camera turned up to {turned:.1f} deg and was followed (read from the {by})" if turned else ""))


class VIDEO_MOCAP_OT_capture(bpy.types.Operator):
    """Capture the person in the video and key their motion on the armature (Esc cancels)"""

    bl_idname = "video_mocap.capture"
    bl_label = "Capture from Video"
    bl_options = {"REGISTER", "UNDO"}

    _job = None
    _timer = None

    @classmethod
    def poll(cls, context):
        s = _settings(context)
        return bool(s.video) and not s.running

    def _check(self, context) -> str | None:
        s = _settings(context)
        path = Path(bpy.path.abspath(s.video))
        if not path.is_file():
            return f"No video file at {path}"
        if s.armature is not None and s.armature.type != "ARMATURE":
            return f"{s.armature.name} is not an armature"
        return None

    def execute(self, context):  # synchronous: scripts and background mode
        problem = self._check(context)
        if problem:
            self.report({"ERROR"}, problem)
            return {"CANCELLED"}
        s = _settings(context)
        return _outcome(self, s, lambda: apply_capture(context, capture(bpy.path.abspath(s.video), _options(s)).motion, s.video))

    def invoke(self, context, event):
        problem = self._check(context)
        if problem:
            self.report({"ERROR"}, problem)
            return {"CANCELLED"}
        s = _settings(context)
        self._job = Job(capture, bpy.path.abspath(s.video), _options(s))
        s.running, s.progress, s.status = True, 0.0, "Starting..."
        self._timer = context.window_manager.event_timer_add(0.2, window=context.window)
        context.window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        s = _settings(context)
        if event.type == "ESC" or not s.running:
            self._job.cancel()
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        stage, done, total, fps = self._job.progress
        s.progress = min(done / max(total, 1), 1.0)
        s.status = f"{stage}: {done}/{total} frames, {fps:.1f} fps"
        for area in context.screen.areas if context.screen else []:
            area.tag_redraw()
        if not self._job.done:
            return {"RUNNING_MODAL"}
        context.window_manager.event_timer_remove(self._timer)
        s.running = False
        if isinstance(self._job.error, Cancelled) or self._job.cancelled:
            s.status = "Cancelled: nothing was changed"
            self.report({"WARNING"}, s.status)
            return {"CANCELLED"}
        if self._job.error is not None:
            s.status = f"Failed: {self._job.error}"
            self.report({"ERROR"}, str(self._job.error))
            return {"CANCELLED"}
        return _outcome(self, s, lambda: apply_capture(context, self._job.result.motion, s.video))


PEOPLE_IMAGE = "Video Mocap People"


class VIDEO_MOCAP_OT_find_people(bpy.types.Operator):
    """Find everyone on the first frame and show them boxed and numbered: choose whom to capture by number"""

    bl_idname = "video_mocap.find_people"
    bl_label = "Find People"

    @classmethod
    def poll(cls, context):
        return bool(_settings(context).video)

    def execute(self, context):
        import numpy as np

        from ..inference.person import describe, draw_people, find_people

        s = _settings(context)

        def work():
            rgb, dets = find_people(bpy.path.abspath(s.video), s.frame_start, s.device)
            picture = draw_people(rgb, dets)
            h, w = picture.shape[:2]
            image = bpy.data.images.get(PEOPLE_IMAGE) or bpy.data.images.new(PEOPLE_IMAGE, w, h)
            if tuple(image.size) != (w, h):
                image.scale(w, h)
            rgba = np.concatenate([picture[::-1] / 255.0, np.ones((h, w, 1))], axis=2).astype(np.float32)
            image.pixels.foreach_set(rgba.ravel())
            image.update()
            try:  # the panel shows it as a large icon (no previews without a UI)
                image.preview_ensure().reload()
            except (AttributeError, RuntimeError):
                pass
            if s.person >= len(dets):
                s.person = -1
            s.people_info = f"{len(dets)} found: " + (describe(dets) or "nobody on this frame")
            return s.people_info

        return _outcome(self, s, work)


class VIDEO_MOCAP_OT_cancel(bpy.types.Operator):
    """Stop the running capture"""

    bl_idname = "video_mocap.cancel"
    bl_label = "Cancel"

    def execute(self, context):
        _settings(context).running = False  # the modal operator sees it and cancels the job
        return {"FINISHED"}


class VIDEO_MOCAP_OT_retarget_file(bpy.types.Operator):
    """Retarget an npz, BVH or FBX motion file onto the armature as a new action"""

    bl_idname = "video_mocap.retarget_file"
    bl_label = "Retarget Motion File"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        s = _settings(context)
        obj = _target(context)
        path = Path(bpy.path.abspath(s.motion_file))

        def work():
            if obj is None:
                raise ValueError("choose an armature to animate (the Armature field, or select one)")
            if not path.is_file():
                raise FileNotFoundError(f"no motion file at {path}")
            return blender_io.retarget_motion(blender_io.load_motion_file(path), obj, name=path.stem, **_retarget_options(s))

        return _outcome(self, s, work)


class VIDEO_MOCAP_OT_retarget_folder(bpy.types.Operator):
    """Retarget every npz, BVH and FBX file of a folder onto the armature, one action per clip"""

    bl_idname = "video_mocap.retarget_folder"
    bl_label = "Retarget Folder"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        s = _settings(context)
        obj = _target(context)
        folder = Path(bpy.path.abspath(s.motion_folder))
        if obj is None or not folder.is_dir():
            self.report({"ERROR"}, "choose an armature and an existing folder")
            return {"CANCELLED"}
        reports = blender_io.retarget_files([folder], [obj], **_retarget_options(s))
        failed = [r for r in reports if r.error]
        for r in reports:
            print(r)
        s.status = f"{len(reports) - len(failed)} clips retargeted, {len(failed)} failed (details in the console)"
        self.report({"WARNING" if failed else "INFO"}, s.status)
        return {"FINISHED"} if len(failed) < len(reports) else {"CANCELLED"}


class VIDEO_MOCAP_OT_retarget_armature(bpy.types.Operator):
    """Retarget the source armature's action (e.g. an imported FBX) onto the target armature as a new action"""

    bl_idname = "video_mocap.retarget_armature"
    bl_label = "Retarget from Armature"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        s = _settings(context)
        obj = _target(context)

        def work():
            if s.source_armature is None:
                raise ValueError("choose the animated source armature (the Source field)")
            if obj is None:
                raise ValueError("choose an armature to animate (the Armature field, or select one)")
            return blender_io.retarget_armature(s.source_armature, obj, **_retarget_options(s))

        return _outcome(self, s, work)


class VIDEO_MOCAP_OT_complete_limbs(bpy.types.Operator):
    """Rebuild the chosen limbs (or the ones with no animation) of the active armature's action with MPM
    3D completion, as a new action"""

    bl_idname = "video_mocap.complete_limbs"
    bl_label = "Complete Missing Limbs"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        s = _settings(context)
        obj = context.object

        def work():
            if obj is None or obj.type != "ARMATURE":
                raise ValueError("select the armature whose action has missing limbs")
            frames = range(s.complete_start, s.complete_end + 1) if s.complete_end > s.complete_start else None
            action, limbs = blender_io.complete_action(obj, sorted(s.limbs) or None, frames, device=s.device)
            return f"Rebuilt {', '.join(limbs)} in a new action {action.name!r}"

        return _outcome(self, s, work)


CLASSES = (VIDEO_MOCAP_OT_capture, VIDEO_MOCAP_OT_find_people, VIDEO_MOCAP_OT_complete_limbs, VIDEO_MOCAP_OT_cancel, VIDEO_MOCAP_OT_retarget_file,
           VIDEO_MOCAP_OT_retarget_folder, VIDEO_MOCAP_OT_retarget_armature)
