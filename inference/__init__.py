"""Footage to motion without Blender: video IO, detector, person tracking, lifters, completion, solve, pipeline, batch, CLI."""
