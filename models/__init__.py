"""Torch network definitions, dataset preparation, training, export and evaluation (not shipped to Blender)."""
