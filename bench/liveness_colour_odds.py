"""How often does another session's colour sequence look like this one's? (the light check's odds)

A replay carries the lighting of the session it was recorded in. This draws pairs of light
challenges (``liveness.challenge.new_challenge``), lays each one's colours out in time as
Amplify's component shows them (``tests/liveness_scenes.colour_events``), and computes the light
check's statistic between the two screen-colour signals, as ``liveness.checks`` does between the
screen and the face: the Pearson correlation per channel, averaged, every 33 ms (a perfectly timed
replay, lit exactly by the other sequence). Prints how many pairs reach each level.

Usage: .venv/bin/python bench/liveness_colour_odds.py [pairs]   (default 100000; about a minute)
"""

from __future__ import annotations

import sys

import numpy as np
from _common import FACES  # noqa: F401  (puts tests/ on the path)
from liveness_scenes import colour_events, screen_colour

from rekollect.liveness.challenge import LIGHT, new_challenge

LEVELS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9)


def signal(sequences: list[dict]) -> np.ndarray:
    events = colour_events(sequences, 0.0)
    times = np.arange(0.0, events[-1][0], 1000 / 30)
    return np.array([screen_colour(events, millis) for millis in times])


def correlation(first: np.ndarray, second: np.ndarray) -> float:
    values = [
        np.corrcoef(first[:, channel], second[:, channel])[0, 1]
        for channel in range(3)
        if first[:, channel].std() > 1.0 and second[:, channel].std() > 1.0
    ]
    return float(np.mean(values))


def main() -> None:
    pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    draws = [
        signal(new_challenge(LIGHT, "2.0.0", "640", "480").session_information()["Challenge"][LIGHT]["ColorSequences"])
        for _ in range(2 * pairs)
    ]
    values = np.array([correlation(draws[2 * n], draws[2 * n + 1]) for n in range(pairs)])
    print(f"{pairs} pairs of sessions; correlation of their screen colours: max {values.max():.3f}")
    for level in LEVELS:
        print(f"  >= {level:.2f}: {int((values >= level).sum())} pairs ({(values >= level).mean():.1e})")


if __name__ == "__main__":
    main()
