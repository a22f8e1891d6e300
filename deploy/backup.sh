#!/usr/bin/env bash
# Back up the grid inspection backend: the database and the photo directory.
#
# Usage: backup.sh [--env-file FILE] [--dest DIR] [--keep-days N] [--no-photos]
#   --env-file FILE  settings file (default /etc/grid-inspection/env, the service's file):
#                    DATABASE_URL, GRID_VAR_DIR, PHOTO_DIR, BACKUP_DIR, BACKUP_KEEP_DAYS.
#                    Variables already set in the environment win over the file.
#   --dest DIR       where backups go (BACKUP_DIR, default /var/backups/grid-inspection)
#   --keep-days N    delete backups older than N days (BACKUP_KEEP_DAYS, default 14)
#   --no-photos      database only (e.g. photos already replicated by an object store)
#
# Writes DIR/grid-inspection-YYYYmmddTHHMMSSZ/ containing
#   database.dump         PostgreSQL: pg_dump custom format (checked with pg_restore --list)
#   database.sqlite3.gz   embedded SQLite/SpatiaLite: online backup copy (integrity-checked)
#   photos.tar            the photo directory (JPEGs are already compressed: no gzip)
#   MANIFEST, SHA256SUMS  what, when, schema revision; checksums verified by restore.sh
# A backup is written under a hidden .partial name and renamed only when complete, so a
# directory with the final name is always a whole backup. Run as root (reads the env file
# and the photo directory). Restore with restore.sh.
set -euo pipefail

ENV_FILE=${GRID_ENV_FILE:-/etc/grid-inspection/env}
ENV_FILE_GIVEN=0
NO_PHOTOS=0
OPT_DEST=
OPT_KEEP=

die() { echo "backup: $*" >&2; exit 1; }
log() { echo "backup: $*"; }
usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --env-file) ENV_FILE=${2:?--env-file needs a value}; ENV_FILE_GIVEN=1; shift 2 ;;
        --dest) OPT_DEST=${2:?--dest needs a value}; shift 2 ;;
        --keep-days) OPT_KEEP=${2:?--keep-days needs a value}; shift 2 ;;
        --no-photos) NO_PHOTOS=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"
read_settings "$ENV_FILE" "$ENV_FILE_GIVEN"
BACKUP_DIR=${OPT_DEST:-${BACKUP_DIR:-/var/backups/grid-inspection}}
KEEP_DAYS=${OPT_KEEP:-${BACKUP_KEEP_DAYS:-14}}
[[ $KEEP_DAYS =~ ^[0-9]+$ ]] || die "--keep-days must be a whole number: $KEEP_DAYS"
[[ $BACKUP_DIR != *[\'\"]* ]] || die "backup directory must not contain quotes: $BACKUP_DIR"

umask 077
mkdir -p "$BACKUP_DIR"
chmod 700 "$BACKUP_DIR"

# One backup at a time (a slow photo tar may still run when the next timer fires).
exec 9>"$BACKUP_DIR/.lock"
flock -n 9 || die "another backup is running (lock $BACKUP_DIR/.lock)"

TS=$(date -u +%Y%m%dT%H%M%SZ)
NAME=grid-inspection-$TS
WORK=$BACKUP_DIR/.$NAME.partial
FINAL=$BACKUP_DIR/$NAME
[[ ! -e $FINAL ]] || die "$FINAL already exists"
mkdir "$WORK"
trap 'rm -rf "$WORK"' EXIT

schema_revision=unknown
db_label=

# --- Database (first: photos are content-addressed and only ever added, so every photo the
# dump refers to is already on disk when the tar starts) ---
if [[ $KIND == postgresql ]]; then
    command -v pg_dump >/dev/null || die "pg_dump not found: apt-get install postgresql-client-15"
    export_pg_env
    db_label="postgresql://${PGHOST:-local}:${PGPORT:-5432}/$PGDATABASE"
    log "dumping $db_label"
    pg_dump --format=custom --compress=6 --file="$WORK/database.dump"
    # A dump that pg_restore cannot list is not a backup.
    pg_restore --list "$WORK/database.dump" >/dev/null \
        || die "pg_restore --list failed on the new dump"
    schema_revision=$(psql -X -At -c 'SELECT version_num FROM alembic_version' 2>/dev/null | paste -sd, -) || true
else
    db=$(sqlite_path)
    [[ -f $db ]] || die "embedded database not found: $db"
    db_label="sqlite:$db"
    log "copying $db"
    out=$WORK/database.sqlite3
    # Online backup API: consistent copy while the app keeps running (WAL included).
    # SpatiaLite need not be loaded: pages are copied as they are.
    if command -v "$SQLITE3" >/dev/null; then
        "$SQLITE3" -readonly -cmd ".timeout 30000" "$db" ".backup '$out'"
        check=$("$SQLITE3" "$out" 'PRAGMA integrity_check')
        schema_revision=$("$SQLITE3" "$out" 'SELECT version_num FROM alembic_version' 2>/dev/null | paste -sd, -) || true
    else
        [[ -n $PYTHON ]] || die "neither sqlite3 nor python3 found"
        check=$("$PYTHON" - "$db" "$out" <<'PY'
import sqlite3, sys
src = sqlite3.connect(sys.argv[1], timeout=30)
dst = sqlite3.connect(sys.argv[2])
with dst:
    src.backup(dst)
src.close()
print(dst.execute("PRAGMA integrity_check").fetchone()[0])
dst.close()
PY
)
        schema_revision=$("$PYTHON" - "$out" <<'PY' 2>/dev/null
import sqlite3, sys
print(",".join(r[0] for r in sqlite3.connect(sys.argv[1]).execute("SELECT version_num FROM alembic_version")))
PY
) || true
    fi
    [[ $check == ok ]] || die "integrity check of the copy failed: $check"
    gzip -6 "$out"
fi
[[ -n $schema_revision ]] || schema_revision=unknown

# --- Photos ---
photos=skipped
if [[ $NO_PHOTOS == 1 ]]; then
    log "photos skipped (--no-photos)"
elif [[ -d $PHOTO_DIR ]]; then
    log "archiving $PHOTO_DIR"
    rc=0
    tar --create --file="$WORK/photos.tar" --directory="$PHOTO_DIR" . || rc=$?
    # GNU tar exit 1: a file changed while being read (an upload in progress) — the
    # finished file will be in the next backup; anything else is a failure.
    if [[ $rc == 1 ]]; then
        log "warning: some photos changed during the backup (uploads in progress)"
    elif [[ $rc != 0 ]]; then
        die "tar failed ($rc)"
    fi
    photos="$(tar --list --file="$WORK/photos.tar" | grep -vc '/$' || true) files"
else
    log "no photo directory at $PHOTO_DIR (nothing uploaded yet?)"
    photos="none ($PHOTO_DIR missing)"
fi

app_version=$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("grid-inspection"))' 2>/dev/null || echo unknown)
cat >"$WORK/MANIFEST" <<EOF
created=$TS
host=$(hostname)
kind=$KIND
database=$db_label
schema_revision=$schema_revision
app_version=$app_version
photo_dir=$PHOTO_DIR
photos=$photos
EOF
(cd "$WORK" && files=(*) && sha256sum -- "${files[@]}" >SHA256SUMS)

mv "$WORK" "$FINAL"
trap - EXIT
touch "$FINAL"
log "done: $FINAL ($(du -sh "$FINAL" | cut -f1))"

# --- Retention: whole backups older than KEEP_DAYS, and leftovers of failed runs ---
find "$BACKUP_DIR" -mindepth 1 -maxdepth 1 -type d -name 'grid-inspection-*' \
    ! -name "$NAME" -mtime +"$KEEP_DAYS" -print -exec rm -rf {} + | sed 's/^/backup: removed old /'
find "$BACKUP_DIR" -mindepth 1 -maxdepth 1 -type d -name '.grid-inspection-*.partial' \
    -mtime +1 -exec rm -rf {} +
