"""ITIL 4's six value-chain activities, and how vsm names them.

Internally a stage is a short key; users may write any of the common
spellings ("design and transition", "Design & Transition", "design_transition").
"""

from __future__ import annotations

import difflib
import re

# In the order a new feature flows through them; plan guides the whole chain.
STAGES = ("plan", "engage", "design_transition", "obtain_build", "deliver_support", "improve")
LABELS = {
    "plan": "plan",
    "engage": "engage",
    "design_transition": "design and transition",
    "obtain_build": "obtain/build",
    "deliver_support": "deliver and support",
    "improve": "improve",
}
UNMAPPED = "unmapped"
INHERIT = "inherit"  # take the stage of the neighbouring work (used for hand-offs)

KINDS = ("work", "wait", "done")
WAIT_KINDS = ("queue", "customer", "vendor", "internal", "handoff")

DESCRIPTIONS = {
    "plan": "Shared understanding of the vision, status and direction: prioritising, scheduling, backlog.",
    "engage": "Understanding needs and engaging stakeholders: logging, triage, categorising, first contact.",
    "design_transition": "Making sure products and services meet expectations: design, assessment, approval, release and deployment.",
    "obtain_build": "Making service components available: building, configuring, procuring, testing.",
    "deliver_support": "Delivering and supporting services to agreed specifications: fulfilling, investigating, resolving.",
    "improve": "Continual improvement: reviews, problem analysis, lessons learned.",
}


def stage_key(text: str) -> str | None:
    """Return the stage key for a user's spelling, or None if it names no stage."""
    t = re.sub(r"[^a-z]+", " ", text.lower().replace("&", " and ")).strip()
    t = re.sub(r"\band\b", " ", t)
    t = re.sub(r"\s+", "_", t.strip())
    aliases = {
        "plan": "plan", "planning": "plan",
        "engage": "engage", "engagement": "engage",
        "design_transition": "design_transition", "design": "design_transition", "transition": "design_transition",
        "obtain_build": "obtain_build", "obtain": "obtain_build", "build": "obtain_build",
        "deliver_support": "deliver_support", "deliver": "deliver_support", "support": "deliver_support",
        "improve": "improve", "improvement": "improve",
        "unmapped": UNMAPPED, "inherit": INHERIT,
    }
    return aliases.get(t)


def suggest_stage(text: str) -> str:
    """Return a 'did you mean' hint for a misspelt stage."""
    options = [LABELS[s] for s in STAGES] + [INHERIT]
    close = difflib.get_close_matches(text.lower(), options, n=1, cutoff=0.4)
    return f"; did you mean {close[0]!r}?" if close else f"; use one of: {', '.join(options)}"


def label(stage: str) -> str:
    return LABELS.get(stage, stage)
