"""Joint positions to bone rotations: solver and rig presets in numpy, one thin bpy adapter."""
