"""Face vision: detection, landmarks, pose, quality and embeddings behind one narrow interface.

``FaceAnalyzer`` (in ``analyzer.py``) is what the service uses; ``dlib_pack.py`` is the embedded
default built on ``dlib-bin`` and the ``face_recognition_models`` weights.
"""
