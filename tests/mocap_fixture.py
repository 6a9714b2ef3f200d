"""A small synthetic mocap file in the shared data layout (walking-like limb swings, Y up)."""
import numpy as np

REST = np.array([[0, 1, 0], [-.1, 1, 0], [-.1, .55, 0], [-.1, .1, 0], [.1, 1, 0], [.1, .55, 0], [.1, .1, 0],
                 [0, 1.25, 0], [0, 1.5, 0], [0, 1.6, .08], [0, 1.75, 0], [.18, 1.45, 0], [.2, 1.2, 0], [.2, .95, 0],
                 [-.18, 1.45, 0], [-.2, 1.2, 0], [-.2, .95, 0]], np.float32)


def synthetic_clip(frames: int, phase: float, speed: float) -> np.ndarray:
    t = np.arange(frames) / 50.0
    swing = 0.35 * np.sin(2 * np.pi * speed * t + phase)
    j = np.repeat(REST[None], frames, 0).copy()
    for hip, knee, ankle, sign in ((1, 2, 3, 1), (4, 5, 6, -1)):
        j[:, knee, 2] += sign * swing * 0.45
        j[:, ankle, 2] += sign * swing * 0.9
    for sh, el, wr, sign in ((11, 12, 13, 1), (14, 15, 16, -1)):
        j[:, el, 2] -= sign * swing * 0.25
        j[:, wr, 2] -= sign * swing * 0.5
    j[:, :, 2] += (t * speed)[:, None]  # walk forward
    return j


def write_mocap(path, subjects=("01", "02", "05", "07"), frames=150) -> str:
    clips = [synthetic_clip(frames, i * 0.7, 0.8 + 0.2 * i) for i in range(len(subjects))]
    allj = np.concatenate(clips)
    root = allj[:, 0].copy()
    np.savez(path, root=root, joints_rel=(allj - root[:, None]).astype(np.float16),
             clip_start=np.cumsum([0] + [len(c) for c in clips]), clip_subject=np.array(subjects),
             clip_name=np.array([f"walk_{s}" for s in subjects]), clip_tier=np.zeros(len(clips), np.int8))
    return str(path)


def cmu_walk(cmu_file: str, frames: int | None = None):
    """CMU clip 02_01 (a walk) as a Motion (h36m17_ext, Y up, toes and hand tips; heels unseen)."""
    from video_mocap.motion import Motion
    from video_mocap.skeleton import load_skeleton

    sk = load_skeleton("h36m17_ext")
    with np.load(cmu_file) as d:
        c = list(d["clip_name"]).index("02_01")
        a = d["clip_start"][c]
        b = d["clip_start"][c + 1] if frames is None else a + frames
        j = np.full((b - a, 23, 3), np.nan, np.float32)
        j[:, :17] = d["joints_rel"][a:b].astype(np.float32)
        e = d["extra_rel"][a:b].astype(np.float32)
        root = d["root"][a:b] - [0, d["clip_floor_y"][c], 0]
    j[:, [sk.index("l_toe"), sk.index("r_toe")]] = e[:, :2]
    j[:, [sk.index("l_handtip"), sk.index("r_handtip")]] = e[:, 2:]
    conf = np.isfinite(j).all(-1).astype(np.float32)
    return Motion(joints=j, confidence=conf, fps=50, skeleton=sk, frame="y_up", root=root, meta={"source": "walk.npz"})


def chain_armature(scene, name: str = "Chain", bones: int = 3):
    """A non-humanoid armature: a straight chain of bones."""
    import bpy

    data = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, data)
    scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    for i in range(bones):
        eb = data.edit_bones.new(f"Bone.{i}")
        eb.head, eb.tail = (0, 0, i), (0, 0, i + 1)
    bpy.ops.object.mode_set(mode="OBJECT")
    return obj
