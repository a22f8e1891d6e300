"""ORM models; importing this package registers every table on the metadata."""

from server.models.grid import CellAssignment, GridCell, GridMap
from server.models.user import ApiToken, LoginThrottle, User

__all__ = ["ApiToken", "CellAssignment", "GridCell", "GridMap", "LoginThrottle", "User"]
