"""Background jobs (后台任务): the status of a job you started (admins: any)."""

from flask_smorest import Blueprint

from server.authentication import current_user
from server.extensions import db
from server.schemas.jobs import JobSchema
from server.services import jobs as service

blp = Blueprint("jobs", __name__, description="Background jobs: state, progress and result")


@blp.get("/<int(max=2147483647):job_id>")
@blp.response(200, JobSchema)
def get_one(job_id):
    """Return a job's state, progress and result (its creator and admins; others: 404)."""
    return service.get_job(db.session, current_user(), job_id)
