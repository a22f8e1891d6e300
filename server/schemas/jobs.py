"""Background job schemas."""

from marshmallow import Schema, fields

from server.models.jobs import JOB_KINDS, JOB_STATES
from server.schemas.common import labels_of


class JobSchema(Schema):
    id = fields.Int()
    kind = fields.Str()
    kind_label = fields.Function(lambda job: labels_of(JOB_KINDS, job.kind))
    state = fields.Str(metadata={"description": "queued | running | done | failed"})
    state_label = fields.Function(lambda job: labels_of(JOB_STATES, job.state))
    progress = fields.Function(lambda job: {"done": job.progress_done,
                                            "total": job.progress_total})
    result = fields.Dict(allow_none=True, metadata={
        "description": "What the job did; an import: the summary with every row's error"})
    error = fields.Dict(allow_none=True, metadata={
        "description": "Why it failed: code, message, details (an import: the rows' errors)"})
    attempts = fields.Int()
    created_by_id = fields.Int(allow_none=True)
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    heartbeat_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    status_url = fields.Function(lambda job: f"/api/v1/jobs/{job.id}")
