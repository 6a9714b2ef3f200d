"""Add-on preferences: what the runtime can import, so a missing package is visible, not a crash."""
import importlib.util

import bpy

RUNTIME_PACKAGES = ("numpy", "cv2", "onnxruntime")


def runtime_status() -> dict[str, bool]:
    """Which runtime packages are importable in this Blender."""
    return {name: importlib.util.find_spec(name) is not None for name in RUNTIME_PACKAGES}


class VideoMocapPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__.rpartition(".")[0]

    def draw(self, context):
        col = self.layout.column()
        col.label(text="Runtime packages (bundled as wheels with the extension):")
        for name, ok in runtime_status().items():
            col.label(text=f"{name}: {'available' if ok else 'MISSING - reinstall the extension zip for your platform'}",
                      icon="CHECKMARK" if ok else "ERROR")
