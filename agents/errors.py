"""Agent errors, each with a stable code."""

from __future__ import annotations


class AgentError(Exception):
    code = "agent_error"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class AgentNotFound(AgentError):
    code = "agent_not_found"


class NoActiveAgent(AgentError):
    """The store has no active agent to answer (and the turn named none)."""

    code = "no_active_agent"


class InvalidAgent(AgentError):
    """An agent's settings fail validation (the field is named)."""

    code = "invalid_agent"


class RunNotFound(AgentError):
    code = "run_not_found"


class UnknownTemplate(AgentError):
    code = "unknown_template"


class UnknownTool(AgentError):
    code = "unknown_tool"


class UnknownProvider(AgentError):
    code = "unknown_provider"


class CredentialMissing(AgentError):
    """The store's vault has no secret of that category and name."""

    code = "credential_missing"

    def __init__(self, category: str, name: str, purpose: str = ""):
        why = f" ({purpose})" if purpose else ""
        super().__init__(
            f"Missing credential {category}/{name}{why}: add it under Agents → Credentials "
            f"with category {category!r} and name {name!r}.",
            field="credential",
        )
        self.category = category
        self.name = name


class VaultMisconfigured(AgentError):
    """CREDENTIALS_KEYS holds something that is not a Fernet key."""

    code = "vault_misconfigured"


class CredentialUnreadable(AgentError):
    """A stored secret cannot be decrypted with any configured key (a key was dropped too soon)."""

    code = "credential_unreadable"


class ProviderError(AgentError):
    code = "provider_error"


class ProviderUnavailable(ProviderError):
    """The provider could not be reached, timed out or kept answering 429/5xx after retries."""

    code = "provider_unavailable"


class ProviderRejected(ProviderError):
    """The provider answered the request with a non-retryable error (400, 401, 404...)."""

    code = "provider_rejected"
