"""The add-on's settings, stored on the scene (``scene.video_mocap``)."""
import bpy

from ..inference.bones import HEIGHTS
from ..inference.camera import TYPICAL_HEIGHT
from ..retarget.presets import known_presets, load_preset


def _armature_poll(self, obj):
    return obj.type == "ARMATURE"


def _preset_items(self, context):
    return [("auto", "Auto-detect", "Recognise the rig from its bone names")] + [
        (name, load_preset(name).get("label", name), load_preset(name).get("description", "")) for name in known_presets()]


def _device_items(self, context):
    from ..inference.runtime import ACCELERATORS, accelerator

    best = accelerator()
    name = ACCELERATORS.get(best)
    return [("auto", "Auto", f"The GPU when there is one: {name + ' found' if name else 'none found, the CPU runs'}"),
            ("cpu", "CPU", "Always the CPU"),
            ("gpu", f"GPU ({name})" if name else "GPU (not available)",
             "DirectML on Windows (any DirectX 12 GPU), CoreML on macOS, CUDA with onnxruntime-gpu")]


LIFTERS = [("mpm", "Temporal (MPM)", "27-frame windows fused over time with the single-frame lift (the default): "
            "the best on real footage (58 mm PA-MPJPE, MediaPipe 92), rendered people (73 mm, MediaPipe 87) and the "
            "mocap test (70.0 mm P1, 47.4 P2), with the least jitter; fills occlusions from neighbouring frames"),
           ("single", "Single frame", "Each frame's 2D on its own: mocap test 74.8 mm P1 (P2 50.8), "
            "real footage 67 mm and rendered people 76 mm PA-MPJPE; also lying and upside-down bodies"),
           ("context", "Context-aware", "Each frame's 2D plus the detector's image features around every joint: "
            "the best full pose and camera tilt on rendered people (105 mm MPJPE), trained on rendered people only")]
ROOT_MODES = [("hips", "On the hips", "All body translation on the hips bone"),
              ("root", "Root motion", "Ground-plane motion on the root bone, height on the hips (game engines)"),
              ("in_place", "In place", "Only the height changes"),
              ("none", "None", "No translation")]


class VideoMocapRole(bpy.types.PropertyGroup):
    """One row of the bone mapping panel: a body role and the bone that plays it."""

    role: bpy.props.StringProperty(name="Role")
    bone: bpy.props.StringProperty(name="Bone", description="The armature's bone for this role (empty: none)")
    unsure: bpy.props.BoolProperty(default=False, description="The structure and the bone names disagree here")


class VideoMocapSettings(bpy.types.PropertyGroup):
    video: bpy.props.StringProperty(name="Video", subtype="FILE_PATH", description="The footage to capture")
    frame_start: bpy.props.IntProperty(name="First Frame", default=0, min=0, description="First video frame to use")
    frame_stop: bpy.props.IntProperty(name="Last Frame", default=0, min=0, description="Video frame to stop before (0: the end)")
    person: bpy.props.IntProperty(name="Person", default=-1, min=-1,
                                  description="Whom to capture: the number Find People shows on the first frame "
                                              "(-1: automatic, the largest and most central person)")
    people_info: bpy.props.StringProperty(default="")
    lifter: bpy.props.EnumProperty(name="Lifter", items=LIFTERS, default="mpm")
    detector: bpy.props.EnumProperty(name="Detector", default="full", items=[
        ("full", "Full", "BlazePose's full landmark model (shipped)"),
        ("heavy", "Heavy", "BlazePose's heavy landmark model: better 2D, about 3x slower; in the zips built with "
                           "--heavy, else built once with python -m video_mocap.models convert-detector --heavy")])
    device: bpy.props.EnumProperty(name="Device", items=_device_items)
    hands: bpy.props.BoolProperty(name="Hands", default=False,
                                  description="Also capture the fingers and key the rig's finger bones (about 1.5x the time)")
    unseen_fingers: bpy.props.EnumProperty(name="Unseen Hands", default="hold", items=[
        ("hold", "Hold", "Fingers keep the last shape seen (on a hand never seen: the rig's rest pose)"),
        ("relaxed", "Relaxed", "Fingers take a hand at ease, slightly curled, where the hand is not seen"),
        ("rest", "Rest", "Fingers go to the rig's rest pose where the hand is not seen")],
        description="What the finger bones do on frames where a hand is not seen")
    complete: bpy.props.BoolProperty(name="Fill Occluded Joints", default=True,
                                     description="Joints the detector barely sees are masked and filled by MPM")
    threshold: bpy.props.FloatProperty(name="Threshold", default=0.3, min=0.0, max=1.0,
                                       description="Confidence below which a joint is filled")
    fix_swaps: bpy.props.BoolProperty(name="Fix Left/Right Swaps", default=True,
                                      description="Undo the detector's left/right label swaps by temporal consistency")
    solve: bpy.props.BoolProperty(name="Ground the Motion", default=True,
                                  description="Solve the whole clip at once: feet on the floor without sliding, one "
                                              "skeleton, the camera's tilt and height (off: frame by frame, as before)")
    moving_camera: bpy.props.BoolProperty(name="Follow Camera Pans", default=True,
                                          description="Find the camera's pan, tilt and roll from the background, so a "
                                                      "following camera does not make the feet slide (a still camera is "
                                                      "left as is; off: the camera did not turn)")
    camera_height: bpy.props.FloatProperty(name="Camera Height", default=TYPICAL_HEIGHT, min=0.1, max=100.0,
                                           subtype="DISTANCE", unit="LENGTH",
                                           description="How high above the floor the camera was (the default: held "
                                                       "or on a tripod); the solve expects it to look down at the "
                                                       "feet from there, so a known height sets the world's tilt better")
    performer_height: bpy.props.FloatProperty(name="Performer Height", default=0.0, min=0.0, max=HEIGHTS[1],
                                              subtype="DISTANCE", unit="LENGTH",
                                              description="The performer's height, floor to the top of the head (0: "
                                                          "unknown). One view cannot tell a small person near the "
                                                          "camera from a tall one further away: a known height sets "
                                                          "the body's size and its distance, so the root's path")
    smooth: bpy.props.FloatProperty(name="Smoothing", default=0.5, min=0.0, max=1.0, subtype="FACTOR")
    fov: bpy.props.FloatProperty(name="Field of View", default=60.0, min=10.0, max=170.0,
                                 description="Field of view across the long side of the frame, of the camera that filmed the clip (degrees)")
    armature: bpy.props.PointerProperty(name="Armature", type=bpy.types.Object, poll=_armature_poll,
                                        description="The rig to animate (empty: create a new armature)")
    preset: bpy.props.EnumProperty(name="Rig Preset", items=_preset_items)
    root_mode: bpy.props.EnumProperty(name="Root", items=ROOT_MODES, default="hips")
    fix_feet: bpy.props.BoolProperty(name="Remove Foot Sliding", default=True)
    pin_feet: bpy.props.BoolProperty(name="Pin Feet (IK)", default=True,
                                     description="Feet in contact stay where they landed, by IK on the rig's own legs")
    load_reference: bpy.props.BoolProperty(name="Video as Reference", default=True,
                                           description="Load the clip as a movie clip for comparison")
    motion_file: bpy.props.StringProperty(name="Motion File", subtype="FILE_PATH", description="An npz, BVH or FBX file")
    motion_folder: bpy.props.StringProperty(name="Folder", subtype="DIR_PATH", description="Every npz, BVH and FBX file in it")
    source_armature: bpy.props.PointerProperty(name="Source", type=bpy.types.Object, poll=_armature_poll,
                                               description="An animated armature (an imported FBX or BVH) whose action "
                                                           "goes onto the target")
    mapping_of: bpy.props.EnumProperty(name="Armature", default="target", items=[
        ("target", "Target", "The armature to animate (the Target field, or the active armature)"),
        ("source", "Source", "The animated source armature of Retarget from Armature")])
    mapping: bpy.props.CollectionProperty(type=VideoMocapRole)
    mapping_armature: bpy.props.StringProperty(default="", description="The armature the mapping rows belong to")
    mapping_info: bpy.props.StringProperty(default="")
    mapping_base: bpy.props.StringProperty(default="", description="The detected mapping (JSON) the rows edit")
    mapping_path: bpy.props.StringProperty(name="Mapping File", subtype="FILE_PATH",
                                           description="A mapping (JSON) to export to or load from")
    limbs: bpy.props.EnumProperty(name="Limbs", options={"ENUM_FLAG"}, items=[
        ("l_arm", "Left Arm", ""), ("r_arm", "Right Arm", ""), ("l_leg", "Left Leg", ""), ("r_leg", "Right Leg", "")],
        description="Limbs to rebuild (none chosen: the ones without animation)")
    complete_start: bpy.props.IntProperty(name="Start", default=0, description="First frame (0 and 0: the whole action)")
    complete_end: bpy.props.IntProperty(name="End", default=0)
    # Job state shown in the panel.
    status: bpy.props.StringProperty(name="Status", default="")
    progress: bpy.props.FloatProperty(name="Progress", default=0.0, min=0.0, max=1.0, subtype="FACTOR")
    running: bpy.props.BoolProperty(default=False)
    detected: bpy.props.StringProperty(default="")
