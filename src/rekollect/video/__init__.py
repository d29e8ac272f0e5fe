"""Stored-video analysis: decoding with PyAV, face tracking, the job runner and completion notifications.

``decode`` measures ``VideoMetadata`` and samples frames; ``tracker`` links faces across frames
into persons; ``analysis`` turns sampled frames into GetFaceSearch / GetFaceDetection result rows;
``jobs`` runs Start* jobs on a worker thread and persists them; ``notify`` publishes the completion
message to SNS and an optional webhook.
"""
