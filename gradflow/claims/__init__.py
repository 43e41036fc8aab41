"""The seed notes' claims, each measured on seeded models, with a verdict read from the figures.

``claims()`` gathers the evidence once (:mod:`.cells_evidence`, :mod:`.training_evidence`),
turns it into each claim's measured figures (:mod:`.measure`) and applies each claim's rule
(:mod:`.rules`) to them.
"""

from .config import ClaimsConfig
from .measure import TASKS, Claim, ClaimsResult, Evidence, claims, gather
from .rules import RULES, VERDICTS, verdict
from .statements import ORDER, STATEMENTS, english

__all__ = ["ORDER", "RULES", "STATEMENTS", "TASKS", "VERDICTS", "Claim", "ClaimsConfig",
           "ClaimsResult", "Evidence", "claims", "english", "gather", "verdict"]
