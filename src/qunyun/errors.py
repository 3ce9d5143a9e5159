"""Errors a user can act on, each with a stable code for scripts.

    QunyunError                 (code: str, message: str)
    ├── ConfigError             config.missing, config.invalid
    ├── StoreError              store.unsupported_url
    ├── IngestError             import.strict_rejected, import.unreadable, import.format
    ├── NotFoundError           member.not_found, merge.not_found
    ├── PrivacyError            privacy.no_key, privacy.bad_key, privacy.decrypt
    ├── LifecycleError          refresh.backwards
    ├── ModelError              models.bad_input, models.no_fit
    ├── ReportError             report.bad_week, report.bad_lang, report.bad_output (reports/errors.py)
    └── AuthError               auth.bad_credentials, auth.forbidden, auth.username_taken,
                                auth.bad_role, auth.weak_password, auth.csrf, auth.idempotency_conflict
    (QunyunError itself:        merge.same_member, merge.already_undone, merge.cycle, demo.not_empty)

Internal bugs are ordinary exceptions; the CLI shows QunyunErrors as one
clear line and exits 1 (2 for usage), anything else with a traceback.
"""


class QunyunError(Exception):
    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message


class ConfigError(QunyunError):
    pass


class StoreError(QunyunError):
    pass


class IngestError(QunyunError):
    pass


class NotFoundError(QunyunError):
    pass


class PrivacyError(QunyunError):
    pass


class LifecycleError(QunyunError):
    pass


class ModelError(QunyunError):
    """A lifecycle model cannot be fitted or used on the data given."""


class AuthError(QunyunError):
    pass
