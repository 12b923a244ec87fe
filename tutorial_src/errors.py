"""The tutorial's own exceptions, one tree, one line each (PyJWT's exceptions stay PyJWT's)."""


class TutorialError(Exception):
    """Base class of every error this package raises on purpose."""


class SettingsError(TutorialError, ValueError):
    """A setting is unusable, for example a JWT secret shorter than 32 bytes."""


class InvalidCredentials(TutorialError):
    """The email is unknown or the password is wrong; which of the two is never said."""


class UserExists(TutorialError, ValueError):
    """A user with this email is already in the store."""


class ServerError(TutorialError, RuntimeError):
    """The background server could not start or stop in time."""


class InvalidRequest(TutorialError, ValueError):
    """The ``Authorization`` header is not a well-formed Bearer credential (RFC 6750 §3.1 ``invalid_request``)."""


class UnsupportedScheme(TutorialError, ValueError):
    """The ``Authorization`` header holds another scheme or a bare token: no Bearer credentials (RFC 6750 §3.1)."""


class InvalidToken(TutorialError, ValueError):
    """The bearer token failed a check (RFC 6750 §3.1 ``invalid_token``); the message says which."""


class KeysUnavailable(TutorialError):
    """A resource service has no issuer key yet and cannot fetch one (it answers 503)."""


class StoreUnavailable(TutorialError):
    """The store's database did not answer (locked, unreadable, gone): the app answers 503, never 500."""
