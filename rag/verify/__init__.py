"""Verify: one stage turns a model's draft into the final answer. It parses the draft into
claims once (claims.py), runs the rules in a fixed order (rules.py, thresholds in config.py),
applies their decisions and numbers the citations once, claim by claim as the draft streams
(stage.ClaimStream); `verify` checks a whole draft the same way."""

from rag.verify.claims import Claim
from rag.verify.config import VerifyConfig
from rag.verify.order import ORDER, RULE_NAMES
from rag.verify.rules import Decision
from rag.verify.stage import ClaimStream, Verified, verify

__all__ = [
    "ORDER",
    "RULE_NAMES",
    "Claim",
    "ClaimStream",
    "Decision",
    "Verified",
    "VerifyConfig",
    "verify",
]
