"""Rendered footage with exact 3D truth: a CC0 MakeHuman character in headless Blender performing
held-out mocap, filmed by a virtual camera. Needs bpy (the dev install has it)."""
