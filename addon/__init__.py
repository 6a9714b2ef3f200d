"""Blender UI: panels, operators, properties, preferences. The only package besides
``retarget/blender_io.py`` that imports ``bpy``."""
import bpy

from . import mapping, operators, panels, preferences, properties

_classes = (preferences.VideoMocapPreferences, properties.VideoMocapRole, properties.VideoMocapSettings, *operators.CLASSES, *mapping.CLASSES, *panels.CLASSES)


def register() -> None:
    for cls in _classes:
        bpy.utils.register_class(cls)
    bpy.types.Scene.video_mocap = bpy.props.PointerProperty(type=properties.VideoMocapSettings)


def unregister() -> None:
    del bpy.types.Scene.video_mocap
    for cls in reversed(_classes):
        bpy.utils.unregister_class(cls)
