"""Bone mapping operators: show the detected role -> bone mapping of an armature (the target or the source), let
the user fix any role, save it on the armature (reused by every retarget onto or from it) or to a file, load
one, clear it."""
import json
from pathlib import Path

import bpy

from ..retarget import blender_io
from ..retarget.presets import wanted_roles


def mapped_armature(context):
    """The armature whose mapping the panel shows: the target (or the active armature), or the source."""
    s = context.scene.video_mocap
    obj = s.source_armature if s.mapping_of == "source" else (s.armature or context.object)
    return obj if obj is not None and obj.type == "ARMATURE" else None


def _show(s, obj, preset: str = "auto") -> None:
    """Put the armature's mapping (stored, else ``preset`` or detected) in the panel's rows: roles, then the
    spine chain from the hips up."""
    rig, mapping = blender_io.armature_mapping(obj, preset)
    data = mapping.to_json(rig)
    s.mapping.clear()
    for role in wanted_roles():
        row = s.mapping.add()
        row.role, row.bone, row.unsure = role, data["bones"].get(role, ""), role in mapping.unsure
    for k, bone in enumerate(data["spine"]):
        row = s.mapping.add()
        row.role, row.bone = f"spine {k + 1}", bone
    s.mapping_armature, s.mapping_base = obj.name, json.dumps(data)
    unsure = f"; unsure: {', '.join(mapping.unsure)}" if mapping.unsure else ""
    stored = " (stored on the armature)" if obj.get(blender_io.MAPPING_KEY) else ""
    s.mapping_info = f"{mapping.preset}{stored}, confidence {mapping.confidence:.2f}{unsure}" + \
        (f"; {'; '.join(mapping.notes)}" if mapping.notes else "")


def _rows(s) -> dict:
    """The panel's rows as a mapping file's data (the detected one's extras kept)."""
    data = json.loads(s.mapping_base) if s.mapping_base else {"preset": "custom"}
    data["bones"] = {r.role: r.bone for r in s.mapping if r.bone and not r.role.startswith("spine ")}
    data["spine"] = [r.bone for r in s.mapping if r.bone and r.role.startswith("spine ")]
    data["preset"] = "custom" if data.get("preset") in (None, "structure") else data["preset"]
    return data


class _MappingOp:
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return mapped_armature(context) is not None

    def run(self, context, work) -> set:
        s = context.scene.video_mocap
        try:
            message = work(s, mapped_armature(context))
        except Exception as e:  # noqa: BLE001 - shown to the user
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        self.report({"INFO"}, message)
        return {"FINISHED"}


class VIDEO_MOCAP_OT_mapping_detect(_MappingOp, bpy.types.Operator):
    """Show which bone plays each body role on the target armature (its stored mapping, else detected)"""

    bl_idname = "video_mocap.mapping_detect"
    bl_label = "Show Mapping"

    def execute(self, context):
        def work(s, obj):
            _show(s, obj, s.preset)
            return f"{obj.name}: {s.mapping_info}"
        return self.run(context, work)


class VIDEO_MOCAP_OT_mapping_save(_MappingOp, bpy.types.Operator):
    """Save the mapping rows on the armature (used by every retarget onto or from it); also to the mapping file
    when one is given"""

    bl_idname = "video_mocap.mapping_save"
    bl_label = "Save Mapping"

    def execute(self, context):
        def work(s, obj):
            if s.mapping_armature != obj.name or not len(s.mapping):
                raise ValueError(f"show {obj.name}'s mapping first (Show Mapping), then fix the roles to change")
            data = _rows(s)
            blender_io.store_mapping(obj, data)
            where = f"on {obj.name}"
            if s.mapping_path:
                path = Path(bpy.path.abspath(s.mapping_path))
                path.write_text(json.dumps(data, indent=2))
                where += f" and in {path}"
            _show(s, obj)
            return f"Mapping saved {where}"
        return self.run(context, work)


class VIDEO_MOCAP_OT_mapping_load(_MappingOp, bpy.types.Operator):
    """Load the mapping file onto the armature (checked against its bones)"""

    bl_idname = "video_mocap.mapping_load"
    bl_label = "Load Mapping"

    def execute(self, context):
        def work(s, obj):
            path = Path(bpy.path.abspath(s.mapping_path))
            if not path.is_file():
                raise FileNotFoundError(f"no mapping file at {path}")
            blender_io.store_mapping(obj, json.loads(path.read_text()))
            _show(s, obj)
            return f"{path.name} stored on {obj.name}"
        return self.run(context, work)


class VIDEO_MOCAP_OT_mapping_clear(_MappingOp, bpy.types.Operator):
    """Forget the armature's stored mapping: detection decides again"""

    bl_idname = "video_mocap.mapping_clear"
    bl_label = "Clear Stored Mapping"

    def execute(self, context):
        def work(s, obj):
            blender_io.store_mapping(obj, None)
            _show(s, obj, s.preset)
            return f"{obj.name}: stored mapping removed"
        return self.run(context, work)


CLASSES = (VIDEO_MOCAP_OT_mapping_detect, VIDEO_MOCAP_OT_mapping_save, VIDEO_MOCAP_OT_mapping_load,
           VIDEO_MOCAP_OT_mapping_clear)
