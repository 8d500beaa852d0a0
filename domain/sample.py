"""The bundled sample data: the reference case the product exists for."""

from __future__ import annotations

from domain.dataset import sample_dataset
from domain.model import IncidentView

REFERENCE_INCIDENT_KEY = "idlib-disputed-attack"


def reference_incident() -> IncidentView:
    """The disputed Idlib attack: one incident, four sources, four incompatible accounts."""
    _, incidents = sample_dataset()
    return next(i for i in incidents if i.key == REFERENCE_INCIDENT_KEY)
