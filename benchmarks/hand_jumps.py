"""Do the rig's hands snap where a hand is lost or found? The pose2sim demo's four real views captured with
``--hands`` and retargeted onto Mixamo's rig (numpy solver): per hand, the share of frames it was seen, how often
it was lost or found, the largest turn (deg) of its finger bones and of the hand bone from one frame to the next
at those changes, and the 99th percentile of the same turns elsewhere; then, over all hands, the frames where a
finger bone turns more than 45 or 90 deg, or the hand bone more than 45 deg, from the frame before. Not a test.

    python benchmarks/hand_jumps.py [--unseen-fingers hold|rest|relaxed]
"""
import argparse

import numpy as np


def turns(quaternions: np.ndarray) -> np.ndarray:
    """(T-1, B) angle (deg) each bone turns from one frame to the next."""
    dots = np.abs((quaternions[1:] * quaternions[:-1]).sum(-1))
    return np.degrees(2 * np.arccos(np.clip(dots, 0, 1)))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--unseen-fingers", default="hold")
    args = p.parse_args()

    from video_mocap.inference.pipeline import CaptureOptions, capture
    from video_mocap.models.assets import load_rig, pose2sim_demo
    from video_mocap.retarget.presets import detect, roles
    from video_mocap.retarget.solver import solve

    rig = load_rig("mixamo")
    mapping, _ = detect(rig)
    fingers = roles()["finger_roles"]
    print("| view | hand | seen | lost or found | fingers there (deg) | hand there | fingers elsewhere p99 | hand elsewhere p99 |")
    print("|---|---|---|---|---|---|---|---|")
    steps, fingers45, fingers90, hands45 = 0, 0, 0, 0
    for video in sorted((pose2sim_demo() / "videos").glob("cam*.mp4")):
        m = capture(video, CaptureOptions(hands=True, device="cpu")).motion
        track = solve(m.to_frame("blender").positions(), m.confidence, m.fps, rig, mapping, root_mode="none",
                      unseen_fingers=args.unseen_fingers)
        step = turns(track.quaternions.astype(np.float64))
        for side in "LR":
            seen = m.confidence[:, m.skeleton.index(f"{side.lower()}_index_tip")] > 0
            change = np.flatnonzero(seen[1:] != seen[:-1])
            rest = np.setdiff1d(np.arange(len(step)), change)
            bones = [i for r, i in mapping.bones.items() if r in fingers and r.endswith("." + side)]
            hand = mapping.bones[f"hand.{side}"]
            at = (step[change][:, bones].max(), step[change, hand].max()) if len(change) else (0.0, 0.0)
            print(f"| {video.stem} | {side} | {seen.mean():.2f} | {len(change)} | {at[0]:.1f} | {at[1]:.1f} | "
                  f"{np.percentile(step[rest][:, bones], 99):.1f} | {np.percentile(step[rest, hand], 99):.1f} |")
            finger = step[:, bones].max(1)
            steps, fingers45, fingers90 = steps + len(step), fingers45 + int((finger > 45).sum()), fingers90 + int((finger > 90).sum())
            hands45 += int((step[:, hand] > 45).sum())
    print(f"\nof {steps} hand-frames: a finger bone turns > 45 deg on {fingers45}, > 90 deg on {fingers90}; "
          f"the hand bone > 45 deg on {hands45}")


if __name__ == "__main__":
    main()
