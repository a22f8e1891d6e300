# Shared by backup.sh and restore.sh, which source it after defining die and log.
# Settings come from a systemd EnvironmentFile (read, never executed); variables already set
# in the environment win.

# Read KEY=value lines of a systemd EnvironmentFile without executing it.
load_env_file() {
    local line key value
    while IFS= read -r line || [[ -n $line ]]; do
        line=${line%$'\r'}
        [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
        [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
        key=${BASH_REMATCH[2]}
        value=${BASH_REMATCH[3]}
        if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
        [[ -v $key ]] || export "$key=$value"
    done <"$1"
}


# read_settings ENV_FILE GIVEN: load the settings file (an error if GIVEN=1 and unreadable),
# then set GRID_VAR_DIR, PHOTO_DIR, DATABASE_URL, SQLITE3, PYTHON and KIND (sqlite|postgresql).
read_settings() {
    if [[ -r $1 ]]; then
        load_env_file "$1"
    elif [[ $2 == 1 ]]; then
        die "cannot read $1"
    fi
    GRID_VAR_DIR=${GRID_VAR_DIR:-/var/lib/grid-inspection}
    PHOTO_DIR=${PHOTO_DIR:-$GRID_VAR_DIR/photos}
    DATABASE_URL=${DATABASE_URL:-}
    # sqlite3 CLI if installed, else Python's sqlite3 module (SQLITE3=none forces Python).
    SQLITE3=${SQLITE3:-sqlite3}
    # The app's Python has the same stdlib; fall back to the system one.
    PYTHON=${PYTHON:-/opt/grid-inspection/.venv/bin/python}
    [[ -x $PYTHON ]] || PYTHON=$(command -v python3 || true)
    case $DATABASE_URL in
        ''|sqlite*) KIND=sqlite ;;
        postgresql*|postgres:*) KIND=postgresql ;;
        *) die "unsupported DATABASE_URL scheme: ${DATABASE_URL%%:*}" ;;
    esac
}

# Connection settings for pg_dump/psql/pg_restore from DATABASE_URL, as libpq environment
# variables (a password on a command line would be visible in `ps`).
export_pg_env() {
    [[ -n $PYTHON ]] || die "python3 is needed to parse DATABASE_URL"
    eval "$("$PYTHON" - <<'PY'
import os, shlex, sys
from urllib.parse import urlsplit, unquote, parse_qs
u = urlsplit(os.environ["DATABASE_URL"])
out = {}
if u.hostname: out["PGHOST"] = u.hostname
if u.port: out["PGPORT"] = str(u.port)
if u.username: out["PGUSER"] = unquote(u.username)
if u.password is not None: out["PGPASSWORD"] = unquote(u.password)
db = unquote(u.path.lstrip("/"))
if not db: sys.exit("DATABASE_URL has no database name")
out["PGDATABASE"] = db
q = parse_qs(u.query)
for key, env in (("host", "PGHOST"), ("port", "PGPORT"), ("sslmode", "PGSSLMODE")):
    if key in q: out[env] = q[key][-1]
for k, v in out.items():
    print(f"export {k}={shlex.quote(v)}")
PY
)"
}

# SQLite file from DATABASE_URL (sqlite:////abs/path) or the app's default.
sqlite_path() {
    local path
    if [[ -z $DATABASE_URL ]]; then
        path=$GRID_VAR_DIR/grid.sqlite3
    else
        path=${DATABASE_URL#sqlite*:///}
        path=${path%%\?*}
    fi
    [[ $path == /* ]] || die "use an absolute SQLite path in DATABASE_URL (sqlite:////path): $DATABASE_URL"
    printf '%s\n' "$path"
}

sqlite_query() {  # DB SQL [ro|rw] -> first column of each row
    # "rw" for the restored copy: a read-write connection removes its -wal/-shm on close.
    local mode=${3:-ro}
    if command -v "$SQLITE3" >/dev/null; then
        if [[ $mode == ro ]]; then "$SQLITE3" -readonly "$1" "$2"; else "$SQLITE3" "$1" "$2"; fi
    else
        "$PYTHON" - "$1" "$2" "$mode" <<'PY'
import sqlite3, sys
path, sql, mode = sys.argv[1:4]
con = sqlite3.connect(f"file:{path}?mode=ro", uri=True) if mode == "ro" else sqlite3.connect(path)
for row in con.execute(sql):
    print(row[0])
con.close()
PY
    fi
}
