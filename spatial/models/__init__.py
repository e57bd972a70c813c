"""SQLAlchemy 2 + GeoAlchemy2 models of every plan table: the schema's second face, for analysts' ORM queries.

The migrations stay the only way the schema changes; these models are checked against them (see `drift`).
"""

from spatial.models.base import Base
from spatial.models.edits import Proposal, ProposalChange
from spatial.models.identity import ApiToken, User
from spatial.models.jobs import ImportJob
from spatial.models.plan import (
    LAYER_MODELS,
    AdminUnit,
    Axis,
    Corridor,
    LayerVersion,
    Parcel,
    Plan,
    Project,
    TileChange,
    UseRule,
    Zone,
)
from spatial.models.revisions import Revision

metadata = Base.metadata

__all__ = ["LAYER_MODELS", "AdminUnit", "ApiToken", "Axis", "Base", "Corridor", "ImportJob", "LayerVersion", "Parcel",
           "Plan", "Project", "Proposal", "ProposalChange", "Revision", "TileChange", "UseRule", "User", "Zone",
           "metadata"]
