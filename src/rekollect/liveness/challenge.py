"""The challenge the server gives a Face Liveness stream: which kind, the oval, the face-distance
thresholds, and for the light challenge the colour sequence.

``StartFaceLivenessSession``'s ``challenge-versions`` names what the client can do
(``FaceMovementAndLightChallenge_2.0.0,FaceMovementChallenge_1.0.0`` from Amplify's
``FaceLivenessDetectorCore``); the session's ``ChallengePreferences`` (default: the light
challenge) say what the application wants; the first preference the client supports is chosen
(``ValidationException`` when none).

``ServerSessionInformationEvent`` carries what Amplify's component requires (it refuses a session
without ``FaceDistanceThreshold``, ``FaceDistanceThresholdMin``, ``OvalHeightWidthRatio`` and the
IoU thresholds): the ``ChallengeConfig`` values are those of Amplify's own test fixtures for AWS's
service (``__mocks__/testUtils.ts``), with ``OvalIouThreshold`` 0.7 (the match the component asks
before the colours), and ``OvalFitTimeout`` 7 s. The oval is placed at random (``secrets``), as
AWS's is, so that a recording made for one session does not fit another: its width is 0.62–0.72 of
the frame's 3:4 width (as the component's own static oval, ``getStaticLivenessOvalDetails``, uses
0.8), its centre within the middle eighth of the frame each way. The colours: black, then
``COLOUR_COUNT`` colours drawn at random from the seven other corners of the RGB cube, none the
same as the one before (7 × 6⁹ ≈ 7·10⁷ sequences), each scrolled down in 300 ms and held 300 ms:
6.3 s in all. Ten rather than seven make the chance that another session's sequence correlates
with this one's small enough to measure (``bench/liveness_colour_odds.py``; ``checks.py``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from ..errors import ValidationException

LIGHT = "FaceMovementAndLightChallenge"
MOVEMENT = "FaceMovementChallenge"
VERSIONS = {LIGHT: "2.0.0", MOVEMENT: "1.0.0"}
"""The challenge versions this server runs (those Amplify's component speaks)."""

OVAL_HEIGHT_WIDTH_RATIO = 1.618
CHALLENGE_CONFIG = {
    "BlazeFaceDetectionThreshold": 0.75,
    "FaceDistanceThresholdMin": 0.4,
    "FaceDistanceThreshold": 0.4,
    "FaceDistanceThresholdMax": 0.0,
    "OvalIouThreshold": 0.7,
    "OvalHeightWidthRatio": OVAL_HEIGHT_WIDTH_RATIO,
    "OvalIouWidthThreshold": 0.25,
    "OvalIouHeightThreshold": 0.25,
    "FaceIouWidthThreshold": 0.15,
    "FaceIouHeightThreshold": 0.15,
    "OvalFitTimeout": 7000,
}
COLOURS = (
    (255, 255, 255),
    (255, 0, 0),
    (255, 255, 0),
    (0, 255, 0),
    (0, 255, 255),
    (0, 0, 255),
    (255, 0, 255),
)
"""The colours after the first, black: the corners of the RGB cube but black."""
SCROLL_MS, FLAT_MS = 300, 300
COLOUR_COUNT = 10
MIN_VIDEO_SIDE, MAX_VIDEO_SIDE = 120, 4096


@dataclass(frozen=True)
class Challenge:
    """One stream's challenge. ``oval`` is ``(width, height, centre x, centre y)`` in pixels of the
    video as the component displays it (mirrored, as its face detector sees it); ``colours`` the
    sequence of ``(rgb, scroll ms, flat ms)``, empty for the movement challenge."""

    kind: str
    version: str
    video_width: int
    video_height: int
    oval: tuple[float, float, float, float]
    colours: tuple[tuple[tuple[int, int, int], int, int], ...]

    def session_information(self) -> dict[str, Any]:
        """The ``SessionInformation`` of ``ServerSessionInformationEvent``."""
        width, height, centre_x, centre_y = self.oval
        body: dict[str, Any] = {
            "OvalParameters": {"Width": width, "Height": height, "CenterX": centre_x, "CenterY": centre_y},
            "ChallengeConfig": CHALLENGE_CONFIG,
        }
        if self.kind == LIGHT:
            body["LightChallengeType"] = "SEQUENTIAL"
            body["ColorSequences"] = [
                {"FreshnessColor": {"RGB": list(rgb)}, "DownscrollDuration": scroll, "FlatDisplayDuration": flat}
                for rgb, scroll, flat in self.colours
            ]
        return {"Challenge": {self.kind: body}}

    def to_json(self) -> dict[str, Any]:
        """As stored with the session."""
        return {
            "kind": self.kind,
            "version": self.version,
            "video_width": self.video_width,
            "video_height": self.video_height,
            "oval": list(self.oval),
            "colours": [[list(rgb), scroll, flat] for rgb, scroll, flat in self.colours],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Challenge:
        """The inverse of ``to_json``."""
        return cls(
            data["kind"],
            data["version"],
            int(data["video_width"]),
            int(data["video_height"]),
            tuple(data["oval"]),
            tuple((tuple(rgb), int(scroll), int(flat)) for rgb, scroll, flat in data["colours"]),
        )


def choose_kind(preferences: list[dict[str, Any]], offered: str) -> tuple[str, str]:
    """The challenge ``(kind, version)`` for a session with ``ChallengePreferences`` ``preferences``
    and a client offering ``offered`` (``Type_version`` items, comma-separated); ``ValidationException``
    when no preference is both offered and run here."""
    client = {}
    for item in filter(None, (part.strip() for part in offered.split(","))):
        kind, _, version = item.rpartition("_")
        client.setdefault(kind, set()).add(version)
    for preference in preferences or [{"Type": LIGHT}]:
        kind = preference["Type"]
        version = VERSIONS.get(kind)
        versions = preference.get("Versions") or {}
        if version is None or version not in client.get(kind, set()):
            continue
        if "Minimum" in versions and _semver(version) < _semver(versions["Minimum"]):
            continue
        if "Maximum" in versions and _semver(version) > _semver(versions["Maximum"]):
            continue
        return kind, version
    raise ValidationException(
        f"None of the session's challenge preferences is offered by the client ({offered or 'none'})"
        f" and run by this server ({', '.join(f'{k}_{v}' for k, v in VERSIONS.items())})"
    )


def _semver(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def new_challenge(kind: str, version: str, video_width: str | None, video_height: str | None) -> Challenge:
    """A random challenge of ``kind`` for a video of the given size (query strings, pixels);
    ``ValidationException`` when the size is missing or outside 120–4096 pixels."""
    try:
        width, height = int(video_width or ""), int(video_height or "")
    except ValueError:
        raise ValidationException("video-width and video-height must be whole numbers of pixels") from None
    if not (MIN_VIDEO_SIDE <= width <= MAX_VIDEO_SIDE and MIN_VIDEO_SIDE <= height <= MAX_VIDEO_SIDE):
        raise ValidationException(f"The video must be {MIN_VIDEO_SIDE} to {MAX_VIDEO_SIDE} pixels a side")
    chance = secrets.SystemRandom()
    frame_width = min(width, 0.75 * height)
    oval_width = chance.uniform(0.62, 0.72) * frame_width
    oval_height = min(OVAL_HEIGHT_WIDTH_RATIO * oval_width, 0.95 * height)
    centre_x = chance.uniform(7 / 16, 9 / 16) * width
    centre_y = chance.uniform(7 / 16, 9 / 16) * height
    oval = (round(oval_width), round(oval_height), round(centre_x), round(centre_y))
    colours: tuple[tuple[tuple[int, int, int], int, int], ...] = ()
    if kind == LIGHT:
        order: list[tuple[int, int, int]] = []
        while len(order) < COLOUR_COUNT:
            rgb = chance.choice(COLOURS)
            if not order or rgb != order[-1]:
                order.append(rgb)
        colours = (((0, 0, 0), 0, FLAT_MS), *((rgb, SCROLL_MS, FLAT_MS) for rgb in order))
    return Challenge(kind, version, width, height, oval, colours)
