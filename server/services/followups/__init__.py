"""Follow-ups (整改复查、处罚后复查、投诉举报、案件): what must happen after an inspection or a report."""
