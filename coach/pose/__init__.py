"""Pose: the 33 named landmarks, the one pose container, keypoint recordings, and the MediaPipe engine."""
