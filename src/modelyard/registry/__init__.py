"""Model versions with lineage, and the audited stage machine they move through."""

from modelyard.registry._files import read_model_file, read_table
from modelyard.registry._lineage import GitState, data_hash, git_state
from modelyard.registry._registry import Registry, RegistryListener, spec_fingerprint
from modelyard.registry._stages import ALLOWED_MOVES, check_move, parse_stage

__all__ = [
    "ALLOWED_MOVES",
    "GitState",
    "Registry",
    "RegistryListener",
    "check_move",
    "data_hash",
    "git_state",
    "parse_stage",
    "read_model_file",
    "read_table",
    "spec_fingerprint",
]
