"""Footage to motion without Blender: video IO, detector, lifters, completion, filters, pipeline, CLI."""
