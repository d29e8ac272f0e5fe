"""Face Liveness: sessions, the challenge a stream is given, the recorded video, and the checks
that decide whether a live person was in front of the camera (``sessions``, ``challenge``,
``recording``, ``checks``)."""
