"""``rekollect detect --draw``: DetectFaces' answer drawn on a copy of the photo (Pillow's ImageDraw)."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, ImageDraw, ImageFont, ImageOps

_COLOURS = ("#ff3b30", "#34c759", "#0a84ff", "#ffcc00", "#af52de", "#ff9500", "#5ac8fa", "#ff2d55")


def upright(photo: bytes) -> Image.Image:
    """``photo`` decoded, turned by its EXIF orientation, transparency over white, in RGB.

    DetectFaces' boxes and landmarks are ratios of this upright image (AWS and Rekollect both apply
    the EXIF orientation before detecting).
    """
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(photo)))
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, "white")
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return image.convert("RGB")


def attributes(face: dict[str, Any]) -> dict[str, str]:
    """The main attributes of a FaceDetail as text, by name (``Age``, ``Gender``, ``Emotion``, ``Smile``),
    for those present: age range, gender, the emotion of highest confidence, smile, with confidences."""
    texts = {}
    if "AgeRange" in face:
        texts["Age"] = f"{face['AgeRange']['Low']}-{face['AgeRange']['High']}"
    if "Gender" in face:
        texts["Gender"] = f"{face['Gender']['Value']} {face['Gender']['Confidence']:.0f}%"
    if face.get("Emotions"):
        top = max(face["Emotions"], key=lambda emotion: emotion["Confidence"])
        texts["Emotion"] = f"{top['Type'].lower()} {top['Confidence']:.0f}%"
    if "Smile" in face:
        texts["Smile"] = f"{'smiling' if face['Smile']['Value'] else 'not smiling'} {face['Smile']['Confidence']:.0f}%"
    return texts


def face_label(number: int, face: dict[str, Any]) -> list[str]:
    """Text lines for one face: its number and detection confidence, then ``attributes``."""
    texts = attributes(face)
    if "Age" in texts:
        texts["Age"] = f"age {texts['Age']}"
    return [f"#{number}  {face['Confidence']:.0f}%", *texts.values()]


def draw_faces(photo: bytes, faces: list[dict[str, Any]], labels: list[list[str]] | None = None) -> Image.Image:
    """The upright photo with each face's box, landmarks and label (``labels``' lines, else
    ``face_label``) drawn on it.

    Line width, dot size and text size scale with the image (about 1/250, 1/300 and 1/40 of its
    shorter side); the label sits under the box, or above it where the image ends.
    """
    image = upright(photo)
    width, height = image.size
    side = min(width, height)
    stroke = max(2, round(side / 250))
    dot = max(2, round(side / 300))
    font = ImageFont.load_default(size=max(11, round(side / 40)))
    canvas = ImageDraw.Draw(image)
    for number, face in enumerate(faces, start=1):
        colour = _COLOURS[(number - 1) % len(_COLOURS)]
        box = face["BoundingBox"]
        left, top = box["Left"] * width, box["Top"] * height
        right, bottom = left + box["Width"] * width, top + box["Height"] * height
        canvas.rectangle((left, top, right, bottom), outline=colour, width=stroke)
        for landmark in face.get("Landmarks", []):
            x, y = landmark["X"] * width, landmark["Y"] * height
            canvas.ellipse((x - dot, y - dot, x + dot, y + dot), fill=colour)
        text = "\n".join(labels[number - 1] if labels is not None else face_label(number, face))
        text_box = canvas.multiline_textbbox((0, 0), text, font=font)
        text_height = text_box[3] - text_box[1] + 2 * stroke
        y = bottom + stroke if bottom + stroke + text_height <= height else max(0, top - stroke - text_height)
        x = min(max(0, left), max(0, width - (text_box[2] - text_box[0]) - 2 * stroke))
        canvas.rectangle((x, y, x + text_box[2] - text_box[0] + 2 * stroke, y + text_height), fill=colour)
        canvas.multiline_text((x + stroke, y + stroke - text_box[1]), text, font=font, fill="black")
    return image
