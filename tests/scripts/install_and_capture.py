"""Run inside a fresh headless Blender (bpy) process: install the built zip, enable it, capture a clip
onto a Rigify rig and a Mixamo-named rig. Prints RESULT lines the test reads; exits non-zero on failure."""
import json
import os
import sys

import bpy  # noqa: I001 - bpy first: addon_utils only imports after it
import addon_utils

zip_path, clip, mixamo_rig_json = sys.argv[1:4]
bpy.ops.wm.read_homefile(use_empty=True)
result = bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
mod = sys.modules.get("bl_ext.user_default.video_mocap")
print("RESULT installed", result, mod is not None and mod.__file__)
assert mod is not None, "the extension module is not loaded"
assert hasattr(bpy.types.Scene, "video_mocap"), "the add-on did not register"
blender_io = sys.modules["bl_ext.user_default.video_mocap.retarget.blender_io"]
Rig = sys.modules["bl_ext.user_default.video_mocap.retarget.rig"].Rig

out = {}
# 1. A generated Rigify rig.
addon_utils.enable("rigify", default_set=True)
bpy.ops.object.armature_human_metarig_add()
bpy.ops.pose.rigify_generate()
rigify = bpy.context.object
# 2. A Mixamo-named rig (the MakeHuman mixamo rig, given as bone data).
bones = json.load(open(mixamo_rig_json))
mixamo = blender_io.create_armature(Rig.from_bones(bones), "Mixamo")

for rig, hand, foot in ((rigify, "DEF-hand.L", "DEF-foot.R"), (mixamo, "mixamorig:LeftHand", "mixamorig:RightFoot")):
    s = bpy.context.scene.video_mocap
    s.video, s.lifter, s.device, s.armature, s.load_reference = clip, "mpm", "cpu", rig, False
    ret = bpy.ops.video_mocap.capture()
    bpy.context.scene.frame_set(1)
    rest = {b: rig.pose.bones[b].tail.copy() for b in (hand, foot)}
    moved = {}
    for frame in (5, 10, 15):
        bpy.context.scene.frame_set(frame)
        for b in (hand, foot):
            moved[b] = max(moved.get(b, 0.0), (rig.pose.bones[b].tail - rest[b]).length)
    action = rig.animation_data.action
    out[rig.name] = {"ret": sorted(ret), "action": action.name if action else None, "detected": s.detected,
                     "status": s.status, "moved": moved}
print("RESULT " + json.dumps(out))
sys.stdout.flush()
os._exit(0)  # Blender 4.2/4.5 crash or hang at exit after Rigify generation
