#!/usr/bin/env bash
# Restore a backup made by backup.sh into an EMPTY database and photo directory.
#
# Usage: restore.sh [--env-file FILE] [--force] [--no-photos] [--no-database] BACKUP_DIR
#   BACKUP_DIR       e.g. /var/backups/grid-inspection/grid-inspection-20261105T020000Z
#   --env-file FILE  target settings (default /etc/grid-inspection/env): DATABASE_URL,
#                    GRID_VAR_DIR, PHOTO_DIR. Variables set in the environment win.
#   --force          restore over a non-empty database / photo directory, and even while
#                    the service is running. PostgreSQL: objects in the dump are dropped
#                    and recreated; SQLite: the old file is kept as *.before-restore-*.
#   --no-photos      database only        --no-database   photos only
#
# Before anything is changed, all checks run: checksums (SHA256SUMS), the dump is readable
# (pg_restore --list) or the SQLite copy passes integrity_check, the target is empty.
# PostgreSQL target: create it first with postgis-setup.sh (PostGIS needs a superuser);
# the restore connects as the app role from DATABASE_URL, in a single transaction —
# if it fails, nothing is changed. Typical order:
#   systemctl stop grid-inspection
#   postgis-setup.sh --db grid_new ...     (or an empty database on a new host)
#   restore.sh BACKUP_DIR
#   systemctl start grid-inspection         (runs migrations if the app is newer)
set -euo pipefail

ENV_FILE=${GRID_ENV_FILE:-/etc/grid-inspection/env}
ENV_FILE_GIVEN=0
FORCE=0
DO_PHOTOS=1
DO_DATABASE=1
SERVICE=${GRID_SERVICE:-grid-inspection}
GRID_USER=${GRID_USER:-grid}
SRC=

die() { echo "restore: $*" >&2; exit 1; }
log() { echo "restore: $*"; }
usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --env-file) ENV_FILE=${2:?--env-file needs a value}; ENV_FILE_GIVEN=1; shift 2 ;;
        --force) FORCE=1; shift ;;
        --no-photos) DO_PHOTOS=0; shift ;;
        --no-database) DO_DATABASE=0; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) usage >&2; die "unknown option: $1" ;;
        *) [[ -z $SRC ]] || die "only one backup directory, please"; SRC=$1; shift ;;
    esac
done
[[ -n $SRC ]] || { usage >&2; die "which backup? give its directory"; }
[[ -d $SRC && -f $SRC/SHA256SUMS && -f $SRC/MANIFEST ]] || die "not a backup directory: $SRC"
SRC=$(cd "$SRC" && pwd)

source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"
read_settings "$ENV_FILE" "$ENV_FILE_GIVEN"

# Restored files: readable by the grid group, not by others (like the service's UMask).
umask 027

# ============================ checks (nothing is changed yet) ============================
log "checking $SRC"
(cd "$SRC" && sha256sum --quiet --strict -c SHA256SUMS) || die "checksum mismatch: the backup is damaged"
sed 's/^/    /' "$SRC/MANIFEST"

if [[ $FORCE == 0 ]] && command -v systemctl >/dev/null && systemctl is-active --quiet "$SERVICE" 2>/dev/null; then
    die "$SERVICE is running: systemctl stop $SERVICE first (or --force)"
fi

if [[ $DO_DATABASE == 1 ]]; then
    if [[ -f $SRC/database.dump ]]; then
        [[ $KIND == postgresql ]] || die "backup is PostgreSQL but DATABASE_URL points to SQLite"
        command -v pg_restore >/dev/null || die "pg_restore not found: apt-get install postgresql-client-15"
        export_pg_env
        LIST=$(mktemp)
        trap 'rm -f "$LIST"' EXIT
        pg_restore --list "$SRC/database.dump" >"$LIST" || die "pg_restore cannot read the dump"
        psql -X -At -c 'SELECT 1' >/dev/null || die "cannot connect to $PGDATABASE as ${PGUSER:-?} (DATABASE_URL)"
        # Extensions need a superuser: they must exist already (postgis-setup.sh);
        # their entries are left out of the restore list.
        while read -r ext; do
            [[ $(psql -X -At -v ext="$ext" <<<"SELECT count(*) FROM pg_extension WHERE extname = :'ext'") == 1 ]] \
                || die "extension $ext is missing in $PGDATABASE: run postgis-setup.sh first"
        done < <(awk '$4 == "EXTENSION" && $5 == "-" {print $6}' "$LIST")
        # Anything in the target that does not belong to an extension (PostGIS's
        # spatial_ref_sys etc. do) means it is not empty.
        existing=$(psql -X -At <<'SQL'
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'topology', 'tiger', 'tiger_data')
   AND n.nspname NOT LIKE 'pg\_%'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
SQL
)
        if [[ $existing != 0 ]]; then
            [[ $FORCE == 1 ]] || die "database $PGDATABASE is not empty ($existing tables/views/sequences); restore into an empty one or use --force"
            log "warning: database $PGDATABASE is not empty ($existing relations); --force: objects in the dump are replaced"
        fi
    elif [[ -f $SRC/database.sqlite3.gz ]]; then
        [[ $KIND == sqlite ]] || die "backup is SQLite but DATABASE_URL points to PostgreSQL"
        gzip -t "$SRC/database.sqlite3.gz" || die "database.sqlite3.gz is damaged"
        DB=$(sqlite_path)
        if [[ -s $DB ]]; then
            tables=$(sqlite_query "$DB" "SELECT count(*) FROM sqlite_master WHERE type = 'table'") \
                || die "cannot read existing $DB"
            if [[ $tables != 0 ]]; then
                [[ $FORCE == 1 ]] || die "$DB is not empty ($tables tables); use --force to replace it (the old file is kept)"
            fi
        fi
    else
        die "no database in this backup (was it made with a different tool?)"
    fi
fi

if [[ $DO_PHOTOS == 1 ]]; then
    if [[ -f $SRC/photos.tar ]]; then
        tar --list --file="$SRC/photos.tar" >/dev/null || die "photos.tar is damaged"
        if [[ -d $PHOTO_DIR && -n $(ls -A "$PHOTO_DIR") && $FORCE == 0 ]]; then
            die "$PHOTO_DIR is not empty; use --force to add the backup's photos to it"
        fi
    else
        log "no photos.tar in this backup: photos not restored"
        DO_PHOTOS=0
    fi
fi

# ================================= restore =================================================
if [[ $DO_DATABASE == 1 && $KIND == postgresql ]]; then
    # Leave out what belongs to extensions: CREATE/COMMENT EXTENSION, and the data of
    # extension tables (PostGIS dumps user-added spatial_ref_sys rows; that table is owned
    # by the superuser who installed PostGIS, and standard SRIDs such as 4326 are there).
    ext_tables=$(psql -X -At -F ' ' <<'SQL'
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
 WHERE c.relkind = 'r'
SQL
)
    awk -v ext_tables="$ext_tables" -v ext_data="$LIST.ext" '
        BEGIN { n = split(ext_tables, t, "\n"); for (i = 1; i <= n; i++) skip[t[i]] = 1 }
        $4 == "EXTENSION" && $5 == "-" { next }
        $4 == "COMMENT" && $5 == "-" && $6 == "EXTENSION" { next }
        $4 == "TABLE" && $5 == "DATA" && (($6 " " $7) in skip) { print > ext_data; next }
        { print }
    ' "$LIST" >"$LIST.use"
    mv "$LIST.use" "$LIST"
    if [[ -s $LIST.ext ]]; then
        ext_rows=$(pg_restore --use-list="$LIST.ext" --file=- "$SRC/database.dump" \
            | awk '/^COPY /{c=1; next} /^\\\.$/{c=0; next} c{n++} END{print n+0}')
        if [[ $ext_rows != 0 ]]; then
            log "warning: $ext_rows custom rows of extension tables (e.g. spatial_ref_sys) not restored;"
            log "  as postgres: pg_restore --use-list=<the TABLE DATA lines> -d $PGDATABASE $SRC/database.dump"
        fi
    fi
    rm -f "$LIST.ext"
    clean=()
    [[ $existing == 0 ]] || clean=(--clean --if-exists)
    log "restoring into postgresql://${PGHOST:-local}:${PGPORT:-5432}/$PGDATABASE as ${PGUSER:-?}"
    # Objects become owned by the app role; grants are the app's business, not the dump's.
    pg_restore --dbname="$PGDATABASE" --use-list="$LIST" --no-owner --no-privileges \
        --single-transaction --exit-on-error "${clean[@]}" "$SRC/database.dump"
    psql -X -q -c 'SET client_min_messages = error' -c 'ANALYZE'
    log "database restored; schema revision $(psql -X -At -c 'SELECT version_num FROM alembic_version' 2>/dev/null | paste -sd, - || echo unknown)"
elif [[ $DO_DATABASE == 1 ]]; then
    mkdir -p "$(dirname "$DB")"
    tmp=$DB.restore-tmp
    gzip -dc "$SRC/database.sqlite3.gz" >"$tmp"
    check=$(sqlite_query "$tmp" 'PRAGMA integrity_check' rw)
    rm -f "$tmp-wal" "$tmp-shm"
    [[ $check == ok ]] || { rm -f "$tmp"; die "integrity check of the restored copy failed: $check"; }
    if [[ -e $DB ]]; then
        old=$DB.before-restore-$(date -u +%Y%m%dT%H%M%SZ)
        # The old file's WAL holds its latest commits: keep it with the file (renamed
        # together they stay a valid pair).
        for suffix in '' -wal -journal; do
            [[ ! -e $DB$suffix ]] || mv "$DB$suffix" "$old$suffix"
        done
        log "previous database kept as $old"
    fi
    # A leftover WAL/SHM beside the new file would be replayed into it: none may remain.
    rm -f "$DB-wal" "$DB-shm" "$DB-journal"
    mv "$tmp" "$DB"
    if [[ $EUID == 0 ]] && id "$GRID_USER" >/dev/null 2>&1; then
        chown "$GRID_USER:" "$DB"
    fi
    log "database restored to $DB"
fi

if [[ $DO_PHOTOS == 1 ]]; then
    mkdir -p "$PHOTO_DIR"
    log "restoring photos into $PHOTO_DIR"
    tar --extract --file="$SRC/photos.tar" --directory="$PHOTO_DIR" --no-same-owner
    if [[ $EUID == 0 ]] && id "$GRID_USER" >/dev/null 2>&1; then
        chown -R "$GRID_USER:" "$PHOTO_DIR"
    fi
    log "photos restored: $(find "$PHOTO_DIR" -type f | wc -l) files"
fi
log "done. Start the service: systemctl start $SERVICE (migrations run on start)"
