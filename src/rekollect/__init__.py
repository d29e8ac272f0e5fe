"""Rekollect: a self-hosted face service that speaks Amazon Rekognition's face API."""

__version__ = "0.1.0"
