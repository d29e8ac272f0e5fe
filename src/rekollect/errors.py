"""Service errors, named exactly as Amazon Rekognition names them.

The operations raise these; the wire layer turns them into AWS JSON 1.1 error responses
(``{"__type": <code>, "message": ...}``). Nothing here knows about HTTP sockets: ``status`` is
the HTTP status AWS sends for the error type, read only by the wire layer.
"""

from __future__ import annotations


class RekognitionError(Exception):
    """Base class. ``code`` is the AWS error type name, ``status`` its HTTP status."""

    code = "RekognitionError"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AccessDeniedException(RekognitionError):
    """AWS ``AccessDeniedException``."""

    code = "AccessDeniedException"


class ConflictException(RekognitionError):
    """AWS ``ConflictException``."""

    code = "ConflictException"


class IdempotentParameterMismatchException(RekognitionError):
    """AWS ``IdempotentParameterMismatchException``."""

    code = "IdempotentParameterMismatchException"


class ImageTooLargeException(RekognitionError):
    """AWS ``ImageTooLargeException``."""

    code = "ImageTooLargeException"


class InternalServerError(RekognitionError):
    """AWS ``InternalServerError``."""

    code = "InternalServerError"
    status = 500


class InvalidImageFormatException(RekognitionError):
    """AWS ``InvalidImageFormatException``."""

    code = "InvalidImageFormatException"


class InvalidPaginationTokenException(RekognitionError):
    """AWS ``InvalidPaginationTokenException``."""

    code = "InvalidPaginationTokenException"


class InvalidParameterException(RekognitionError):
    """AWS ``InvalidParameterException``."""

    code = "InvalidParameterException"


class InvalidS3ObjectException(RekognitionError):
    """AWS ``InvalidS3ObjectException``."""

    code = "InvalidS3ObjectException"


class LimitExceededException(RekognitionError):
    """AWS ``LimitExceededException``."""

    code = "LimitExceededException"


class ResourceAlreadyExistsException(RekognitionError):
    """AWS ``ResourceAlreadyExistsException``."""

    code = "ResourceAlreadyExistsException"


class ResourceInUseException(RekognitionError):
    """AWS ``ResourceInUseException``: the resource is in a state the request cannot act on (a stream
    processor that is running, or not running)."""

    code = "ResourceInUseException"


class ResourceNotFoundException(RekognitionError):
    """AWS ``ResourceNotFoundException``."""

    code = "ResourceNotFoundException"


class SerializationException(RekognitionError):
    """AWS ``SerializationException``: the request body is not the JSON the operation takes."""

    code = "SerializationException"


class SessionNotFoundException(RekognitionError):
    """AWS ``SessionNotFoundException``: no Face Liveness session has that id."""

    code = "SessionNotFoundException"


class ServiceQuotaExceededException(RekognitionError):
    """AWS ``ServiceQuotaExceededException``."""

    code = "ServiceQuotaExceededException"


class ThrottlingException(RekognitionError):
    """AWS ``ThrottlingException``."""

    code = "ThrottlingException"


class UnknownOperationException(RekognitionError):
    """AWS ``UnknownOperationException``."""

    code = "UnknownOperationException"


class ValidationException(RekognitionError):
    """AWS ``ValidationException`` (Rekognition streaming): a Face Liveness stream's request or
    events break the protocol (an expired or used session, a frame too large, a missing event)."""

    code = "ValidationException"


class VideoTooLargeException(RekognitionError):
    """AWS ``VideoTooLargeException``."""

    code = "VideoTooLargeException"


class IncompleteSignatureException(RekognitionError):
    """AWS ``IncompleteSignatureException``: The request's signature is malformed or incomplete."""

    code = "IncompleteSignatureException"


class InvalidSignatureException(RekognitionError):
    """AWS ``InvalidSignatureException``: The request's signature does not match, or its date is out of range."""

    code = "InvalidSignatureException"


class MissingAuthenticationTokenException(RekognitionError):
    """AWS ``MissingAuthenticationTokenException``: The request carries no signature."""

    code = "MissingAuthenticationTokenException"
    status = 403


class UnrecognizedClientException(RekognitionError):
    """AWS ``UnrecognizedClientException``: The access key id is not known."""

    code = "UnrecognizedClientException"
