"""One stage turns a model's draft into the final answer: parse it into claims once
(claims.py), run the rules in a fixed order (rules.py), apply their decisions and renumber the
markers once, claim by claim as the draft streams (stage.ClaimStream); `verify` checks a whole
draft the same way (stage.py)."""

from rag.verify.claims import Claim
from rag.verify.rules import ORDER, RULE_NAMES, Decision
from rag.verify.stage import ClaimStream, Verified, verify

__all__ = ["ORDER", "RULE_NAMES", "Claim", "ClaimStream", "Decision", "Verified", "verify"]
