"""Move a collection to a newer face model that reads its stored vectors as they are (``rekollect collection upgrade``).

A face model version fixes how a collection behaves (AWS, "Model versioning"): new behaviour comes
with a new version. Usually that means new networks, and the images must be indexed again into a
new collection. Face model 2.1 keeps 2.0's networks and changes only the Similarity map and how
user vectors are made (``vision/calibrated_pack.py``), so a 2.0 collection moves to 2.1 in place:
in one transaction the collection and its faces are marked 2.1 and every user vector is made
again from its faces' stored embeddings by 2.1's rule. Faces, FaceIds and ExternalImageIds stay;
from the commit on, searches answer on 2.1's Similarity scale. A server running on the store sees
it at its next request (its index follows the new user vectors through the change log).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.service import MAX_FACES_PER_USER
from ..storage.base import MetadataStore, every_item
from ..vision.calibrated_pack import user_vector
from ..vision.packs import UPGRADES, ModelPacks
from .archive import BackupError

USER_VECTORS = {"2.1": user_vector}
"""How each upgrade target makes a user vector from its faces' ``(k, d)`` embeddings."""


@dataclass(frozen=True)
class UpgradeSummary:
    """The collection upgraded, the versions it went from and to, and how many user vectors were remade."""

    collection_id: str
    from_version: str
    to_version: str
    users: int


def upgrade_collection(store: MetadataStore, collection_id: str) -> UpgradeSummary:
    """Move ``collection_id`` to the version ``UPGRADES`` names for its own, in one transaction.

    ``BackupError`` if the collection does not exist or its version has no in-place upgrade (then
    its images must be indexed again into a new collection).
    """
    with store.atomic():
        record = store.get_collection(collection_id)
        if record is None:
            raise BackupError(f"the collection id: {collection_id} does not exist")
        version = ModelPacks.canonical(record.face_model_version)
        target = UPGRADES.get(version)
        if target is None:
            raise BackupError(
                f"collection {collection_id} is on face model {version}, which has no in-place upgrade"
                f" (upgradable: {', '.join(f'{a} to {b}' for a, b in UPGRADES.items())}); index its images"
                " again into a new collection instead"
            )
        store.set_face_model_version(collection_id, target)
        users = 0
        for user in every_item(lambda after: store.list_users(collection_id, after, 1000)):
            faces = store.list_faces(collection_id, None, MAX_FACES_PER_USER, user_id=user.user_id).items
            if faces:
                embeddings = np.stack([face.embedding for face in faces])
                store.set_user_vector(collection_id, user.user_id, USER_VECTORS[target](embeddings))
                users += 1
    return UpgradeSummary(collection_id, version, target, users)
