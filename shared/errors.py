"""One exception tree for everything the shared code can refuse."""


class TianjianError(Exception):
    """Base of every error this project raises on purpose."""


class InvalidMobile(TianjianError, ValueError):
    """The text cannot be a mainland China mobile number."""


class InvalidRecord(TianjianError, ValueError):
    """A record failed validation; `errors` maps field names to reasons."""

    def __init__(self, kind: str, errors: dict[str, object]) -> None:
        self.kind = kind
        self.errors = errors
        super().__init__(f"invalid {kind}: {errors}")


class ProtocolError(TianjianError):
    """The other side spoke a protocol this side cannot follow."""


class ClientTooOld(ProtocolError):
    """The client's protocol version is older than the server accepts."""
