"""Real footage with multi-camera truth: the pose2sim demo's four calibrated cameras, triangulated."""
