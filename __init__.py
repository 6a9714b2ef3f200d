"""Video Mocap: footage to animation on your own rig, inside Blender.

This file only registers the Blender add-on; ``motion``, ``skeleton``, ``inference``, ``retarget``
and ``models`` import without Blender.
"""


def register() -> None:
    from . import addon

    addon.register()


def unregister() -> None:
    from . import addon

    addon.unregister()
