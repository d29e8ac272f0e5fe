"""Known people recognised on arrival: ``rekollect index --associate-users``.

After IndexFaces, each new face is searched among the collection's users (SearchUsers by FaceId,
``UserMatchThreshold``, the best user only) and, when one matches, associated with it
(AssociateFaces with the same ``UserMatchThreshold``), so the service applies its own rule: a face
whose Similarity to the user's vector is below the threshold is refused (``LOW_MATCH_CONFIDENCE``),
as are faces of another user and faces past a user's 100. AssociateFaces' default threshold is 75
(AWS API Reference), and so is this option's. Every face gets one ``Association`` saying what
became of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

DEFAULT_USER_MATCH_THRESHOLD = 75.0
"""AssociateFaces' default ``UserMatchThreshold``."""

ASSOCIATED, ALREADY, REFUSED, NO_MATCH = "associated", "already associated", "refused", "no matching user"


@dataclass(frozen=True)
class Association:
    """What became of one new face: ``outcome`` is one of ``ASSOCIATED``, ``ALREADY`` (it was that
    user's), ``REFUSED`` (``reason`` says why) or ``NO_MATCH``; ``user_id`` and ``similarity`` (0–100)
    are those of the best matching user."""

    face_id: str
    outcome: str
    user_id: str | None = None
    similarity: float | None = None
    reason: str | None = None

    def describe(self) -> str:
        """One line for people."""
        if self.outcome == NO_MATCH:
            return f"face {self.face_id}: {NO_MATCH}"
        text = f"face {self.face_id} -> user {self.user_id} (Similarity {self.similarity:.1f}): {self.outcome}"
        return f"{text} ({self.reason})" if self.reason else text

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` form (``None`` members left out)."""
        members = {"face_id": self.face_id, "outcome": self.outcome, "user_id": self.user_id}
        members |= {"similarity": self.similarity, "reason": self.reason}
        return {key: value for key, value in members.items() if value is not None}


def associate_known(client: Any, collection_id: str, face_ids: list[str], threshold: float) -> list[Association]:
    """Associate each of ``face_ids`` with the user it matches at ``threshold`` (see the module docstring);
    botocore's ``ClientError`` for any error but a user's face quota (reported as ``REFUSED``)."""
    done = []
    for face_id in face_ids:
        matches = client.search_users(
            CollectionId=collection_id, FaceId=face_id, UserMatchThreshold=threshold, MaxUsers=1
        )["UserMatches"]
        if not matches:
            done.append(Association(face_id, NO_MATCH))
            continue
        user_id, similarity = matches[0]["User"]["UserId"], matches[0]["Similarity"]
        try:
            answer = client.associate_faces(
                CollectionId=collection_id, UserId=user_id, FaceIds=[face_id], UserMatchThreshold=threshold
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ServiceQuotaExceededException":
                raise
            done.append(Association(face_id, REFUSED, user_id, similarity, "the user has its 100 faces"))
            continue
        if answer["AssociatedFaces"]:
            done.append(Association(face_id, ASSOCIATED, user_id, similarity))
        elif answer["UnsuccessfulFaceAssociations"]:
            reasons = ", ".join(answer["UnsuccessfulFaceAssociations"][0]["Reasons"])
            done.append(Association(face_id, REFUSED, user_id, similarity, reasons))
        else:
            done.append(Association(face_id, ALREADY, user_id, similarity))
    return done
