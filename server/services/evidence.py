"""On-site evidence: does the record's place and time agree with the GPS fix and the photos?

Disagreement is flagged for supervisors, never a reason to refuse the record.
"""

from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone

from grid_maps import distance_m


@dataclass(frozen=True)
class EvidenceLimits:
    max_distance_m: float = 200.0
    max_gps_accuracy_m: float = 100.0
    max_clock_skew_s: float = 600.0
    max_photo_time_diff_s: float = 7200.0
    max_photo_distance_m: float = 500.0
    # Cameras write local time without a zone; offices are in China (UTC+8).
    exif_utc_offset_hours: float = 8.0

    @classmethod
    def from_config(cls, config):
        """Build the limits from app config keys EVIDENCE_<NAME> (Config sets every one)."""
        return cls(**{limit.name: float(config[f"EVIDENCE_{limit.name.upper()}"])
                      for limit in fields(cls) if f"EVIDENCE_{limit.name.upper()}" in config})


def set_evidence(inspection, premises_point, photos, limits):
    """Set the distance and the evidence flags from the record and the photos its sender holds."""
    inspection.distance_m, inspection.evidence_flags = evaluate(inspection, premises_point,
                                                                photos, limits)
    inspection.has_flags = bool(inspection.evidence_flags)


def flag(code, message, **extra):
    return {"code": code, "message": message, **extra}


def evaluate(inspection, premises_point, photos, limits):
    """Return (distance of the fix from the premises in metres or None, list of flags)."""
    flags = []
    distance = None
    if inspection.gps_lon is None or inspection.gps_lat is None:
        flags.append(flag("no_gps", "The record has no GPS fix."))
    else:
        distance = distance_m(inspection.gps_lon, inspection.gps_lat, premises_point.x,
                              premises_point.y)
        if distance > limits.max_distance_m:
            flags.append(flag("far_from_premises", f"The GPS fix is {distance:.0f} m from the "
                              f"premises (limit {limits.max_distance_m:.0f} m).",
                              distance_m=round(distance, 1)))
        accuracy = inspection.gps_accuracy_m
        if accuracy is not None and accuracy > limits.max_gps_accuracy_m:
            flags.append(flag("poor_gps_accuracy", f"The GPS fix is only accurate to {accuracy:.0f} m."))
    skew = (inspection.device_time - inspection.server_time).total_seconds()
    if abs(skew) > limits.max_clock_skew_s:
        flags.append(flag("clock_skew", f"The device clock was {skew:+.0f} s off the server's "
                          "when the record arrived.", seconds=round(skew)))
    for photo in photos:
        flags.extend(_photo_flags(photo, inspection, premises_point, limits))
    return distance, flags


def _photo_flags(photo, inspection, premises_point, limits):
    flags = []
    if photo.exif_status == "unreadable":
        flags.append(flag("photo_exif_unreadable", "The photo's EXIF cannot be read.",
                          sha256=photo.sha256))
    taken = exif_time(photo.taken_at, limits.exif_utc_offset_hours)
    if taken is not None:
        gap = (taken - inspection.device_time).total_seconds()
        if abs(gap) > limits.max_photo_time_diff_s:
            flags.append(flag("photo_time_mismatch", f"The photo was taken {gap / 3600:+.1f} h "
                              "from the record's time.", sha256=photo.sha256,
                              seconds=round(gap)))
    if photo.gps_lon is not None and photo.gps_lat is not None:
        away = distance_m(photo.gps_lon, photo.gps_lat, premises_point.x, premises_point.y)
        if away > limits.max_photo_distance_m:
            flags.append(flag("photo_far_from_premises", f"The photo was taken {away:.0f} m from "
                              "the premises.", sha256=photo.sha256, distance_m=round(away, 1)))
    return flags


def exif_time(text, utc_offset_hours):
    """Read a stored EXIF time (ISO text); a time without zone is local to the office."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone(timedelta(hours=utc_offset_hours)))
    return moment
