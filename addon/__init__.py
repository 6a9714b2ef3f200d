"""Blender UI: panels, operators, properties, preferences. The only package besides
``retarget/blender_io`` that imports ``bpy``."""
import bpy

from . import preferences

_classes = (preferences.VideoMocapPreferences,)


def register() -> None:
    for cls in _classes:
        bpy.utils.register_class(cls)


def unregister() -> None:
    for cls in reversed(_classes):
        bpy.utils.unregister_class(cls)
