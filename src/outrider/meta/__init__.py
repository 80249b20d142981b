"""Node metadata: static defaults, key validation, body decoding and the persisted dynamic store."""

from outrider.meta.body import ApplyRequest, MetaBodyError, decode_apply_body
from outrider.meta.defaults import DEFAULT_META, static_meta
from outrider.meta.keys import MetaValidationError, is_hcl_identifier, validate_keys
from outrider.meta.limits import MAX_BODY_BYTES, MetaLimitError, check_entries
from outrider.meta.store import MetaPersistError, MetaStore

__all__ = [
    "DEFAULT_META",
    "MAX_BODY_BYTES",
    "ApplyRequest",
    "MetaBodyError",
    "MetaLimitError",
    "MetaPersistError",
    "MetaStore",
    "MetaValidationError",
    "check_entries",
    "decode_apply_body",
    "is_hcl_identifier",
    "static_meta",
    "validate_keys",
]
