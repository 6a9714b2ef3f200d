"""The one bpy module of retarget/: read a rig from an armature, write a solved track as a new action,
and the console/batch API (``retarget_motion``, ``retarget_files``).

Works on Blender 4.2 (``Action.fcurves``), 4.4/4.5 (layers, strips, channelbags, action slots) and
5.0 (no ``Action.fcurves``). Keys are written with ``keyframe_points.add`` + ``foreach_set``. Nothing in
the scene changes until the whole clip has been solved, and a failure while writing removes what was
written and puts the previous action back.
"""
from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import bpy
import numpy as np

from ..motion import Motion
from . import feet
from .presets import Mapping, detect, load_mapping, load_preset, resolve
from .rig import Rig
from ..rotations import EULER_AXES, continuous, from_matrix, to_euler, to_matrix
from .solver import Track, solve

LAYERED = bpy.app.version >= (4, 4, 0)


def axes(obj: bpy.types.Object) -> np.ndarray:
    """The rotation (3x3) from the object's own axes to the scene's: an imported FBX armature is often Y-up
    inside, turned upright by its object rotation."""
    return np.array(obj.matrix_world.to_quaternion().to_matrix(), np.float64)


def read_rig(obj: bpy.types.Object) -> Rig:
    """Rest data of an armature object, in armature units but turned to the scene's axes (Z up), so the
    solver's up is the scene's whatever axes the armature has inside. Local rotations do not depend on it."""
    if obj is None or obj.type != "ARMATURE":
        raise ValueError(f"{getattr(obj, 'name', 'nothing')!r} is not an armature: select the rig to animate")
    bones = obj.data.bones
    names = [b.name for b in bones]
    parents = np.array([names.index(b.parent.name) if b.parent else -1 for b in bones])
    turn = axes(obj)
    heads = np.array([b.head_local[:] for b in bones], np.float64) @ turn.T
    tails = np.array([b.tail_local[:] for b in bones], np.float64) @ turn.T
    rest = turn @ np.array([[row[:3] for row in b.matrix_local.to_3x3()] for b in bones], np.float64)
    return Rig(names, parents, heads, tails, rest)


def create_armature(rig: Rig, name: str = "Mocap Rig", collection=None) -> bpy.types.Object:
    """A new armature object with ``rig``'s bones (heads, tails and rolls reproduce its rest matrices)."""
    data = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, data)
    (collection or bpy.context.scene.collection).objects.link(obj)
    previous = bpy.context.view_layer.objects.active
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    try:
        edit = {}
        for i, n in enumerate(rig.names):
            eb = data.edit_bones.new(n)
            eb.head, eb.tail = rig.heads[i].tolist(), rig.tails[i].tolist()
            eb.align_roll(rig.rest[i][:, 2].tolist())
            if rig.parents[i] >= 0:
                eb.parent = edit[rig.names[rig.parents[i]]]
            edit[n] = eb
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
        bpy.context.view_layer.objects.active = previous or obj
    return obj


MAPPING_KEY = "video_mocap_mapping"  # an armature's own mapping (JSON), saved with the .blend by the mapping panel


def mapping_for(rig: Rig, preset: str = "auto", mapping_file: str | None = None, stored: str | None = None
                ) -> tuple[Mapping, list]:
    """The bone mapping: a mapping file, else the armature's stored mapping (``stored``, JSON) when the preset
    is "auto", else a named preset, or auto-detection (with all scores)."""
    if mapping_file:
        path = Path(mapping_file)
        if not path.is_file():
            raise FileNotFoundError(f"no mapping file at {path}")
        return load_mapping(json.loads(path.read_text()), rig), []
    if stored and preset == "auto":
        return load_mapping(json.loads(stored), rig), []
    if preset == "auto":
        return detect(rig)
    return resolve(load_preset(preset), rig), []


def armature_mapping(obj: bpy.types.Object, preset: str = "auto", mapping_file: str | None = None
                     ) -> tuple[Rig, Mapping]:
    """An armature's rig and its mapping (see :func:`mapping_for`; its stored mapping is used when there is one)."""
    rig = read_rig(obj)
    mapping, _ = mapping_for(rig, preset, mapping_file, obj.get(MAPPING_KEY))
    return rig, mapping


def store_mapping(obj: bpy.types.Object, data: dict | None) -> None:
    """Save a mapping (``Mapping.to_json`` layout) on the armature, checked against its bones; None removes it."""
    if data is None:
        obj.pop(MAPPING_KEY, None)
        return
    load_mapping(data, read_rig(obj))  # raises, naming the bones the armature lacks
    obj[MAPPING_KEY] = json.dumps(data)


def _channelbag(action: bpy.types.Action, slot):
    """The channelbag of ``slot`` in a layered ``action`` (4.4+), made if missing."""
    try:
        from bpy_extras.anim_utils import action_ensure_channelbag_for_slot
    except ImportError:  # 4.4 / 4.5 have no such helper: the first layer's keyframe strip holds the channels
        layer = action.layers[0] if len(action.layers) else action.layers.new("Layer")
        strip = layer.strips[0] if len(layer.strips) else layer.strips.new(type="KEYFRAME")
        return strip.channelbag(slot, ensure=True)
    return action_ensure_channelbag_for_slot(action, slot)


def _fcurve_sink(action: bpy.types.Action, obj: bpy.types.Object):
    """Where F-curves go for this Blender: returns (new_fcurve(path, index, group), slot or None)."""
    if not LAYERED:
        return (lambda path, index, group: action.fcurves.new(path, index=index, action_group=group)), None
    slot = action.slots.new(id_type="OBJECT", name=obj.name)
    bag = _channelbag(action, slot)
    groups: dict[str, bpy.types.ActionGroup] = {}

    def new(path, index, group):
        fc = bag.fcurves.new(path, index=index)
        if group not in groups:
            groups[group] = bag.groups.new(group)
        fc.group = groups[group]
        return fc

    return new, slot


def _key(new_fcurve, path: str, group: str, frames: np.ndarray, values: np.ndarray) -> None:
    """One F-curve per column of ``values`` (T, k), linear keys, written in bulk."""
    for index in range(values.shape[1]):
        fc = new_fcurve(path, index, group)
        fc.keyframe_points.add(len(frames))
        fc.keyframe_points.foreach_set("co", np.column_stack([frames, values[:, index]]).astype(np.float32).ravel())
        fc.keyframe_points.foreach_set("interpolation", np.ones(len(frames), np.int32))  # LINEAR
        fc.update()


def _rotation_channels(pose_bone, quats: np.ndarray) -> tuple[str, np.ndarray]:
    """Quaternions in the pose bone's own rotation mode (quaternion, Euler order or axis-angle)."""
    mode = pose_bone.rotation_mode
    if mode == "QUATERNION":
        return "rotation_quaternion", quats
    if mode == "AXIS_ANGLE":
        w = np.clip(quats[:, 0], -1, 1)
        axis = quats[:, 1:] / np.maximum(np.linalg.norm(quats[:, 1:], axis=1, keepdims=True), 1e-9)
        axis[np.linalg.norm(quats[:, 1:], axis=1) < 1e-9] = [0, 1, 0]
        return "rotation_axis_angle", np.column_stack([2 * np.arccos(w), axis])
    if mode in EULER_AXES:
        return "rotation_euler", to_euler(to_matrix(quats.astype(np.float64)), mode)
    raise ValueError(f"bone {pose_bone.name!r} has an unsupported rotation mode {mode}")


def write_action(obj: bpy.types.Object, track: Track, name: str, frame_start: float = 1.0,
                 nla: bool = False) -> bpy.types.Action:
    """Write ``track`` as a NEW action on ``obj`` and make it active (or push it to an NLA track).

    The action the armature had stays in the file (marked with a fake user) and is never changed.
    Keys sit at scene frames, so a 50 fps clip plays at the right speed in a 24 fps scene.
    """
    scene = bpy.context.scene
    scene_fps = scene.render.fps / scene.render.fps_base
    frames = frame_start + np.arange(len(track.quaternions)) * scene_fps / track.fps
    ad = obj.animation_data
    previous = (ad.action, ad.action_slot if LAYERED and ad else None) if ad else (None, None)
    action = bpy.data.actions.new(name)
    try:
        new_fcurve, slot = _fcurve_sink(action, obj)
        for i in track.animated:
            bone = track.bones[i]
            pb = obj.pose.bones.get(bone)
            if pb is None:
                raise ValueError(f"armature {obj.name!r} has no pose bone {bone!r}")
            path, values = _rotation_channels(pb, track.quaternions[:, i])
            _key(new_fcurve, f'pose.bones["{bone}"].{path}', bone, frames, values)
            if i in track.locations:
                _key(new_fcurve, f'pose.bones["{bone}"].location', bone, frames, track.locations[i])
        for bone, props in track.properties.items():
            if obj.pose.bones.get(bone) is not None:
                for prop, value in props.items():
                    if prop in obj.pose.bones[bone]:
                        _key(new_fcurve, f'pose.bones["{bone}"]["{prop}"]', bone, frames[:1], np.array([[value]]))
        ad = obj.animation_data or obj.animation_data_create()
        if nla:
            nla_track = ad.nla_tracks.new()
            nla_track.name = name
            strip = nla_track.strips.new(name, int(frame_start), action)
            if LAYERED and slot is not None:
                strip.action_slot = slot
        else:
            ad.action = action
            if LAYERED:
                ad.action_slot = slot
        if previous[0] is not None:
            previous[0].use_fake_user = True  # the user's action stays in the file, unchanged
    except BaseException:
        bpy.data.actions.remove(action)
        if obj.animation_data is not None and not nla:
            obj.animation_data.action = previous[0]
            if LAYERED and previous[1] is not None:
                obj.animation_data.action_slot = previous[1]
        raise
    return action


@dataclass
class Report:
    """What one retarget did, for the panel, the console and batch logs."""

    clip: str
    armature: str
    action: str = ""
    preset: str = ""
    unmapped: list[str] = field(default_factory=list)
    frames: int = 0
    fps: float = 0.0
    scale: float = 1.0
    skating_before: float = 0.0  # m/s, feet in contact
    skating_after: float = 0.0
    seconds: float = 0.0
    error: str = ""

    def __str__(self) -> str:
        if self.error:
            return f"{self.clip} -> {self.armature}: FAILED: {self.error}"
        return (f"{self.clip} -> {self.armature}: action {self.action!r}, preset {self.preset}, {self.frames} frames "
                f"@ {self.fps:g} fps, foot skating {self.skating_before:.3f} -> {self.skating_after:.3f} m/s, "
                f"{self.seconds:.2f} s" + (f"; unmapped: {', '.join(self.unmapped)}" if self.unmapped else ""))


def prepare(motion: Motion) -> tuple[np.ndarray, np.ndarray, bool]:
    """Canonical joints (T, 23 or 63 with the hands, 3) in Blender's frame with the floor at z = 0, confidences,
    has-root."""
    m = motion.to_frame("blender")
    pos, conf = m.positions(), m.confidence
    if m.skeleton.name == "h36m17":
        pos = np.concatenate([pos, np.full((len(pos), 6, 3), np.nan, np.float32)], 1)
        conf = np.concatenate([conf, np.zeros((len(pos), 6), np.float32)], 1)
    elif m.skeleton.name not in ("h36m17_ext", "h36m17_hands"):
        raise ValueError(f"retargeting needs an h36m17, h36m17_ext or h36m17_hands motion, not {m.skeleton.name}")
    has_root = m.root is not None
    if has_root and m.contacts is None:  # a grounded capture has its floor at 0; else where the lowest foot points usually are
        lowest = np.nanmin(pos[:, list(feet.SK.group("feet")), 2], axis=1)
        pos = pos - [0, 0, np.nanpercentile(lowest, 5)]
    return pos, conf, has_root


def retarget_motion(motion: Motion, obj: bpy.types.Object, name: str | None = None, preset: str = "auto",
                    mapping_file: str | None = None, root_mode: str = "hips", fix_feet: bool = True,
                    pin_feet: bool = True, smooth: float = 0.0, frame_start: float = 1.0, nla: bool = False,
                    unseen_fingers: str = "hold") -> Report:
    """Retarget one motion onto one armature as a new action; returns a :class:`Report`. ``unseen_fingers``: the
    fingers where their hand is not seen (hold the last shape, rest, relaxed: :data:`.solver.UNSEEN_FINGERS`)."""
    t0 = time.perf_counter()
    clip = name or Path(str(motion.meta.get("source", "motion"))).stem
    report = Report(clip, obj.name if obj else "none")
    rig, mapping = armature_mapping(obj, preset, mapping_file)
    pos, conf, has_root = prepare(motion)
    if has_root:
        contact = motion.contacts if motion.contacts is not None else feet.contacts(pos, motion.fps)  # the capture's own
        if motion.contacts is not None:  # a grounded capture: the rig's own soles on its floor
            from .solver import leg_scale, rest_joints

            rest = rest_joints(rig, mapping)
            ankle = min(rest[feet.SK.index("l_ankle"), 2], rest[feet.SK.index("r_ankle"), 2])
            if np.isfinite(ankle):
                pos = feet.rest_on_floor(pos, contact, ankle / leg_scale(pos, rest))
        report.skating_before = feet.skating(pos, contact, motion.fps)
        if fix_feet:
            pos = feet.remove_drift(pos, contact)
        if pin_feet:
            pos = feet.pin_feet(pos, contact)
        report.skating_after = feet.skating(pos, contact, motion.fps)
    track = solve(pos, conf, motion.fps, rig, mapping, root_mode=root_mode, has_root=has_root,
                  plant=contact if has_root and pin_feet else None, unseen_fingers=unseen_fingers)  # IK on the rig's own legs
    if smooth > 0:
        track = track.smoothed(smooth)
    action = write_action(obj, track, clip, frame_start, nla)
    report.action, report.preset, report.unmapped = action.name, mapping.preset, mapping.unmapped
    report.frames, report.fps, report.scale = len(pos), motion.fps, track.scale
    report.seconds = time.perf_counter() - t0
    return report


def motion_from_armature(obj: bpy.types.Object, action: bpy.types.Action | None = None, frames: range | None = None,
                         preset: str = "auto", mapping_file: str | None = None) -> Motion:
    """The motion of an animated armature (an imported FBX or BVH, another rig) as canonical joints in the
    scene (metres, Z up), sampled at every frame of ``action`` (default: its active action) with
    constraints and drivers evaluated. The armature's pose and action are left as they were."""
    from .solver import canonical

    rig, mapping = armature_mapping(obj, preset, mapping_file)
    anim = obj.animation_data
    before = anim.action if anim else None
    slot = anim.action_slot if anim and LAYERED else None
    action = action or before
    if action is None:
        raise ValueError(f"{obj.name} has no action: give it one (import the file with its animation) or pick another armature")
    if frames is None:
        lo, hi = (int(round(v)) for v in action.frame_range)
        frames = range(lo, hi + 1)
    try:
        if action is not before:
            anim = anim or obj.animation_data_create()
            anim.action = action
            if LAYERED and anim.action_slot is None and len(action.slots):
                anim.action_slot = action.slots[0]
        joints = sample_joints(obj, rig, mapping, frames)
    finally:
        if obj.animation_data and obj.animation_data.action is not before:
            obj.animation_data.action = before
            if LAYERED and slot is not None:
                obj.animation_data.action_slot = slot
    m = obj.matrix_world
    size = float(np.mean(m.to_scale()[:]))  # armature units -> scene units
    joints, skeleton = canonical(joints * size + np.array(m.translation[:]))
    scene = bpy.context.scene
    return Motion.from_positions(joints, scene.render.fps / scene.render.fps_base, skeleton,
                                 {"source": f"{obj.name}:{action.name}", "armature_mapping": mapping.preset})


def retarget_armature(source: bpy.types.Object, target: bpy.types.Object, action: bpy.types.Action | None = None,
                      source_mapping: str | None = None, **options) -> Report:
    """Retarget a source armature's action (e.g. an imported FBX) onto ``target`` as a new action, through
    the same solver, feet and root options as :func:`retarget_motion`. Example, in Blender's Python console::

        from bl_ext.user_default.video_mocap.retarget import blender_io
        print(blender_io.retarget_armature(D.objects["Armature"], C.object))
    """
    if source is target:
        raise ValueError("the source and the target are the same armature: pick the animated one as the source")
    motion = motion_from_armature(source, action, mapping_file=source_mapping)
    name = options.pop("name", None) or (action or source.animation_data.action).name
    return retarget_motion(motion, target, name=name, **options)


def load_motion_file(path: str | Path) -> Motion:
    """A motion from a Video Mocap npz, a BVH file, or an FBX file (imported with Blender's importer, its
    armature's action sampled, the import removed again)."""
    from .bvh import read as read_bvh

    path = Path(path)
    if path.suffix.lower() == ".bvh":
        return read_bvh(path)
    if path.suffix.lower() == ".fbx":
        with imported_fbx(path) as source:
            return motion_from_armature(source)
    return Motion.load(path)


@contextmanager
def imported_fbx(path: str | Path):
    """Import an FBX file with Blender's importer and yield its animated armature; everything the import made
    is removed again on leaving, whatever happens."""
    before, actions = set(bpy.data.objects), set(bpy.data.actions)
    try:
        bpy.ops.import_scene.fbx(filepath=str(path))
    except RuntimeError as e:
        raise ValueError(f"{path}: Blender's FBX importer failed: {str(e).strip()}") from None
    made = [o for o in bpy.data.objects if o not in before]
    try:
        rigs = [o for o in made if o.type == "ARMATURE" and o.animation_data and o.animation_data.action]
        if not rigs:
            raise ValueError(f"{path}: no animated armature in this FBX file")
        yield rigs[0]
    finally:
        remove_imported(made, actions)


def remove_imported(objects: list, actions_before: set) -> None:
    """Delete what an import made (objects, their armature/mesh data, its actions), leaving the scene as it was."""
    data = [o.data for o in objects if o.data is not None]
    for o in objects:
        bpy.data.objects.remove(o, do_unlink=True)
    stores = {bpy.types.Armature: bpy.data.armatures, bpy.types.Mesh: bpy.data.meshes,
              bpy.types.Camera: bpy.data.cameras, bpy.types.Light: bpy.data.lights}
    for d in data:
        store = next((v for k, v in stores.items() if isinstance(d, k)), None)
        if store is not None and d.users == 0:
            store.remove(d)
    for a in [a for a in bpy.data.actions if a not in actions_before]:  # the import's own (fake-user) actions
        bpy.data.actions.remove(a)


def retarget_files(paths, armatures, **options) -> list[Report]:
    """Batch: every motion file (npz, BVH or FBX; a folder means every such file in it) onto every armature.
    An FBX file is imported with Blender's importer, its armature's action retargeted, and the import removed.

    A clip that fails is reported and skipped; the others go on. ``options`` are those of
    :func:`retarget_motion`. Example, in Blender's Python console::

        from bl_ext.user_default.video_mocap.retarget import blender_io
        for r in blender_io.retarget_files(["/mocap/takes"], [C.object]): print(r)
    """
    files: list[Path] = []
    for p in [paths] if isinstance(paths, (str, Path)) else paths:
        p = Path(p)
        files += sorted(q for q in p.iterdir() if q.suffix.lower() in (".npz", ".bvh", ".fbx")) if p.is_dir() else [p]
    armatures = [armatures] if isinstance(armatures, bpy.types.Object) else list(armatures)
    reports = []
    for f in files:
        try:
            motion = load_motion_file(f)
        except Exception as e:  # noqa: BLE001 - one bad file must not stop a batch
            reports += [Report(f.stem, a.name, error=str(e)) for a in armatures]
            continue
        for a in armatures:
            try:
                reports.append(retarget_motion(motion, a, name=f.stem, **options))
            except Exception as e:  # noqa: BLE001
                reports.append(Report(f.stem, a.name, error=str(e)))
    return reports


def report_json(reports: list[Report]) -> str:
    return json.dumps([asdict(r) for r in reports], indent=2)


def write_blend(motion: Motion, path: str | Path, video: str | None = None, overwrite: bool = False,
                unseen_fingers: str = "hold") -> Path:
    """A new .blend with a rig carrying the motion as an action (``unseen_fingers`` as for :func:`retarget_motion`),
    the clip as a movie-clip reference (and camera background), and the frame range set: what the README's main
    command writes."""
    from .bvh import tpose_rig

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass --force to replace it")
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps = max(1, round(motion.fps))
    pos, _, _ = prepare(motion)
    name = Path(str(motion.meta.get("source", "motion"))).stem
    rig = create_armature(tpose_rig(pos), f"{name} rig")
    report = retarget_motion(motion, rig, name=name, unseen_fingers=unseen_fingers)
    scene.frame_start, scene.frame_end = 1, len(motion)
    cam_data = bpy.data.cameras.new("Camera")
    cam = bpy.data.objects.new("Camera", cam_data)
    scene.collection.objects.link(cam)
    scene.camera = cam
    if motion.intrinsics is not None and motion.image_size:
        w, h = motion.image_size
        scene.render.resolution_x, scene.render.resolution_y = w, h
        cam_data.sensor_fit = "HORIZONTAL"
        cam_data.lens = float(motion.intrinsics[0, 0]) / w * cam_data.sensor_width
    _place_camera(cam, motion, pos)
    if video:
        try:
            clip = bpy.data.movieclips.load(str(Path(video).resolve()))
            cam_data.show_background_images = True
            bg = cam_data.background_images.new()
            bg.source, bg.clip = "MOVIE_CLIP", clip
        except RuntimeError:
            pass  # Blender's decoder cannot read it: the animation is still saved
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".part.blend")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp), check_existing=False)
    os.replace(tmp, path)
    return path


def _place_camera(cam: bpy.types.Object, motion: Motion, pos: np.ndarray) -> None:
    """The filming camera as the capture solved it: over the world's origin at the solved height, turned as
    it was in each frame (keyed when it turned), so the clip lines up with the rig through it. Without a
    solved camera: level at the hips' height, looking along +Y."""
    height = motion.solved_camera.get("height_m")
    if height is None:
        height = float(np.nanmedian(pos[:, 0, 2])) if np.isfinite(pos[:, 0, 2]).any() else 1.0
    cam.location = (0.0, 0.0, float(height))
    views = motion.to_frame("blender").camera_rotation
    if views is None:
        cam.rotation_euler = (np.pi / 2, 0.0, 0.0)
        return
    cam.rotation_mode = "QUATERNION"
    quats = continuous(from_matrix(views @ np.diag([1.0, -1.0, -1.0])))  # OpenCV axes -> Blender's camera (looks down -Z)
    if np.abs(quats - quats[0]).max() < 1e-6:
        cam.rotation_quaternion = quats[0].tolist()
        return
    action = bpy.data.actions.new(f"{cam.name} turn")
    new_fcurve, slot = _fcurve_sink(action, cam)
    _key(new_fcurve, "rotation_quaternion", "Camera", 1.0 + np.arange(len(quats)), quats)
    ad = cam.animation_data_create()
    ad.action = action
    if LAYERED:
        ad.action_slot = slot


# -- Complete missing limbs -------------------------------------------------------------------------
LIMB_ROLES = {"l_arm": ("upper_arm.L", "forearm.L", "hand.L"), "r_arm": ("upper_arm.R", "forearm.R", "hand.R"),
              "l_leg": ("thigh.L", "shin.L", "foot.L"), "r_leg": ("thigh.R", "shin.R", "foot.R")}


def _curves(action: bpy.types.Action, obj: bpy.types.Object):
    """The F-curves of ``action`` that animate ``obj`` (any Blender version)."""
    if not LAYERED:
        return list(action.fcurves)
    from bpy_extras.anim_utils import action_get_channelbag_for_slot

    slot = obj.animation_data.action_slot if obj.animation_data else None
    bag = action_get_channelbag_for_slot(action, slot) if slot else None
    return list(bag.fcurves) if bag else []


def static_limbs(obj: bpy.types.Object, mapping: Mapping) -> list[str]:
    """Limbs whose bones have no rotation keys, or keys that never change, in the active action."""
    action = obj.animation_data.action if obj.animation_data else None
    curves = _curves(action, obj) if action else []
    moving = set()
    for fc in curves:
        if ".rotation" in fc.data_path and len(fc.keyframe_points) > 1:
            values = np.zeros(len(fc.keyframe_points) * 2, np.float32)
            fc.keyframe_points.foreach_get("co", values)
            if np.ptp(values[1::2]) > 1e-4:
                moving.add(fc.data_path.split('"')[1])
    rig_names = [b.name for b in obj.data.bones]
    return [limb for limb, roles in LIMB_ROLES.items()
            if all(r in mapping.bones and rig_names[mapping.bones[r]] not in moving for r in roles[:2])]


def sample_joints(obj: bpy.types.Object, rig: Rig, mapping: Mapping, frames: range) -> np.ndarray:
    """Canonical joints (T, 23, 3) of the armature as it is posed at each frame (armature units, scene axes)."""
    from .solver import posed_joints

    scene = bpy.context.scene
    n, b = len(frames), len(rig)
    heads, tails, rots = np.zeros((n, b, 3)), np.zeros((n, b, 3)), np.zeros((n, b, 3, 3))
    current = scene.frame_current
    try:
        for t, f in enumerate(frames):
            scene.frame_set(f)
            for i, name in enumerate(rig.names):
                pb = obj.pose.bones[name]
                heads[t, i], tails[t, i] = pb.head, pb.tail
                rots[t, i] = np.array(pb.matrix.to_3x3())
    finally:
        scene.frame_set(current)
    turn = axes(obj)  # the scene's axes, as read_rig
    return posed_joints(rig, mapping, heads @ turn.T, tails @ turn.T, turn @ rots)


def complete_action(obj: bpy.types.Object, limbs: list[str] | None = None, frames: range | None = None,
                    name: str | None = None, device: str = "auto") -> tuple[bpy.types.Action, list[str]]:
    """Rebuild missing limbs of the armature's action with MPM 3D completion, as a NEW action (a copy of
    the active one whose limb bones are re-keyed). Returns the action and the limbs rebuilt."""
    from .complete import complete_limbs

    rig, mapping = armature_mapping(obj)
    action = obj.animation_data.action if obj.animation_data else None
    if action is None:
        raise ValueError(f"{obj.name} has no action to complete")
    limbs = list(limbs) if limbs else static_limbs(obj, mapping)
    if not limbs:
        raise ValueError("every limb is animated: choose the limbs to rebuild")
    if frames is None:
        lo, hi = (int(round(v)) for v in action.frame_range)
        frames = range(lo, hi + 1)
    joints = sample_joints(obj, rig, mapping, frames)
    done = complete_limbs(joints, limbs, device)
    scene_fps = bpy.context.scene.render.fps / bpy.context.scene.render.fps_base
    track = solve(done, np.isfinite(done).all(-1).astype(np.float32), scene_fps, rig, mapping, root_mode="none")
    keep = {mapping.bones[r] for limb in limbs for r in LIMB_ROLES[limb] if r in mapping.bones}
    new = action.copy()
    new.name = name or f"{action.name} completed"
    slot = obj.animation_data.action_slot if LAYERED else None
    try:
        if LAYERED:
            new_slot = next((x for x in new.slots if slot is not None and x.identifier == slot.identifier), new.slots[0])
            bag = _channelbag(new, new_slot)
            remove, add = bag.fcurves.remove, (lambda p, i, g: bag.fcurves.new(p, index=i))
            existing = list(bag.fcurves)
        else:
            new_slot = None
            remove, add = new.fcurves.remove, (lambda p, i, g: new.fcurves.new(p, index=i, action_group=g))
            existing = list(new.fcurves)
        for fc in existing:
            if any(fc.data_path.startswith(f'pose.bones["{rig.names[i]}"].rotation') for i in keep):
                remove(fc)
        for i in sorted(keep):
            path, values = _rotation_channels(obj.pose.bones[rig.names[i]], track.quaternions[:, i])
            _key(add, f'pose.bones["{rig.names[i]}"].{path}', rig.names[i], np.array(list(frames), float), values)
        obj.animation_data.action = new
        if LAYERED:
            obj.animation_data.action_slot = new_slot
        action.use_fake_user = True
    except BaseException:
        obj.animation_data.action = action
        if LAYERED and slot is not None:
            obj.animation_data.action_slot = slot
        bpy.data.actions.remove(new)
        raise
    return new, limbs
