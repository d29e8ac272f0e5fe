"""ClientRequestToken handling for the write operations that take one.

AWS: the same token with the same parameters returns the first response without acting again; the
same token with different parameters is ``IdempotentParameterMismatchException``. The response is
saved in the same store transaction as the write it describes, so a crash never separates them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from ..errors import IdempotentParameterMismatchException
from ..storage.base import MetadataStore, SavedResponse


def run_once(
    store: MetadataStore, operation: str, request: dict[str, Any], action: Callable[[], dict[str, Any]]
) -> tuple[dict[str, Any], bool]:
    """Run ``action`` unless ``request``'s token already ran, and save its response for the token.

    Returns ``(response, replayed)``; ``replayed`` is true when the saved response was returned.
    Call inside ``FaceService.writing()``: the check, the action and the saved response are one
    store transaction.
    """
    token = request.get("ClientRequestToken")
    if token is None:
        return action(), False
    scope = f"{operation}\n{request['CollectionId']}"
    parameters = {key: value for key, value in request.items() if key != "ClientRequestToken"}
    fingerprint = hashlib.sha256(json.dumps(parameters, sort_keys=True).encode()).hexdigest()
    saved = store.saved_response(scope, token)
    if saved is not None:
        if saved.fingerprint != fingerprint:
            raise IdempotentParameterMismatchException(
                f"ClientRequestToken {token} was already used with different parameters"
            )
        return json.loads(saved.response), True
    response = action()
    store.save_response(scope, token, SavedResponse(fingerprint, json.dumps(response)))
    return response, False
