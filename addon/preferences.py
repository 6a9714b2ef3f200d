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
        col.label(text="Runtime packages (bundled as wheels with the extension; nothing is installed at run time):")
        status = runtime_status()
        for name, ok in status.items():
            col.label(text=f"{name}: {'available' if ok else 'MISSING - reinstall the extension zip for your platform'}",
                      icon="CHECKMARK" if ok else "ERROR")
        if status["onnxruntime"]:
            from ..inference.runtime import ACCELERATORS, accelerator, available_providers

            have = available_providers()
            col.label(text="onnxruntime providers: " + ", ".join(have))
            best = accelerator(have)
            col.label(text=f"GPU: {ACCELERATORS[best]} (device Auto uses it)" if best else
                      "No GPU provider: capture runs on the CPU (Windows zips use DirectML, macOS CoreML; CUDA: the GPU build)")
        col.separator()
        col.label(text="Model files:")
        from ..inference.weights import WEIGHTS_DIR, WeightsError, manifest, weight_path

        try:
            entries = manifest()
        except WeightsError as e:
            col.label(text=str(e), icon="ERROR")
            return
        for name, entry in sorted(entries.items()):
            if entry.get("built") and not (WEIGHTS_DIR / entry["file"]).is_file():
                col.label(text=f"{entry['file']}: optional, not built ({entry['command']})", icon="INFO")
                continue
            try:
                weight_path(name)
                col.label(text=f"{entry['file']}  sha256 {entry['sha256'][:16]}...  OK", icon="CHECKMARK")
            except WeightsError as e:
                col.label(text=str(e), icon="ERROR")
