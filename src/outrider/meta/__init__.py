"""Node metadata: static defaults, key validation, body decoding and the persisted dynamic store."""

from outrider.meta.body import ApplyRequest, MetaBodyError, decode_apply_body
from outrider.meta.defaults import DEFAULT_META, static_meta
from outrider.meta.keys import MetaValidationError, is_hcl_identifier, validate_keys
from outrider.meta.store import MetaPersistError, MetaStore

__all__ = [
    "DEFAULT_META",
    "ApplyRequest",
    "MetaBodyError",
    "MetaPersistError",
    "MetaStore",
    "MetaValidationError",
    "decode_apply_body",
    "is_hcl_identifier",
    "static_meta",
    "validate_keys",
]
