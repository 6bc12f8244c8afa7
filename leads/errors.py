"""Lead errors, each with a stable code."""

from __future__ import annotations


class LeadError(Exception):
    code = "lead_error"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class LeadNotFound(LeadError):
    code = "lead_not_found"


class InvalidPhone(LeadError):
    code = "invalid_phone"


class InvalidIdentity(LeadError):
    code = "invalid_identity"


class InvalidStage(LeadError):
    code = "invalid_stage"


class IdentityTaken(LeadError):
    """The identity already belongs to another lead (merge the two leads instead)."""

    code = "identity_taken"


class CannotMergeLeadIntoItself(LeadError):
    code = "cannot_merge_lead_into_itself"
