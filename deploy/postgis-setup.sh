#!/usr/bin/env bash
# Create the PostgreSQL role and database for the grid inspection backend, with PostGIS.
#
# Run as root on the database host, after
#   apt-get install postgresql postgresql-15-postgis-3
#
# Usage: postgis-setup.sh [--db NAME] [--user NAME] [--password PW] [--reset-password]
#                         [--url-host HOST]
#   --db NAME          database name        (env GRID_DB_NAME, default grid)
#   --user NAME        login role name      (env GRID_DB_USER, default grid)
#   --password PW      role password        (env GRID_DB_PASSWORD; prefer the env variable,
#                      command lines are visible to other users in `ps`)
#   --reset-password   set a new generated password on an existing role
#   --url-host HOST    host written into the printed DATABASE_URL
#                      (env GRID_DB_URL_HOST, default 127.0.0.1)
# psql connects as the postgres superuser via `runuser -u postgres -- psql`; PGHOST and
# PGPORT are honoured (e.g. a second cluster: PGPORT=5433).
#
# Idempotent: safe to run again. An existing role keeps its password unless --password
# or --reset-password is given; an existing database is kept and only the extension and
# grants are ensured. A new password is printed once, inside the DATABASE_URL line to put
# into /etc/grid-inspection/env — it is not stored anywhere else.
set -euo pipefail

DB_NAME=${GRID_DB_NAME:-grid}
DB_USER=${GRID_DB_USER:-grid}
DB_PASSWORD=${GRID_DB_PASSWORD:-}
URL_HOST=${GRID_DB_URL_HOST:-127.0.0.1}
RESET_PASSWORD=0

die() { echo "postgis-setup: $*" >&2; exit 1; }

usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --db) DB_NAME=${2:?--db needs a value}; shift 2 ;;
        --user) DB_USER=${2:?--user needs a value}; shift 2 ;;
        --password) DB_PASSWORD=${2:?--password needs a value}; shift 2 ;;
        --reset-password) RESET_PASSWORD=1; shift ;;
        --url-host) URL_HOST=${2:?--url-host needs a value}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

[[ $EUID -eq 0 ]] || die "run as root (psql runs as the postgres user via runuser)"
command -v runuser >/dev/null || die "runuser not found (package util-linux)"
command -v psql >/dev/null || die "psql not found: apt-get install postgresql postgresql-15-postgis-3"

# Plain identifiers only: they go into a URL and into the systemd env file unquoted.
name_re='^[a-z_][a-z0-9_]{0,62}$'
[[ $DB_NAME =~ $name_re ]] || die "database name must match $name_re: $DB_NAME"
[[ $DB_USER =~ $name_re ]] || die "role name must match $name_re: $DB_USER"
# This script strips superuser powers from the role: never point it at a system role.
[[ $DB_USER != postgres && $DB_USER != pg_* ]] || die "refusing to use the system role '$DB_USER'"
[[ $DB_NAME != postgres && $DB_NAME != template0 && $DB_NAME != template1 ]] \
    || die "refusing to use the system database '$DB_NAME'"

# The postgres user cannot read root's home; avoid psql's "could not change directory".
cd /

# psql as the postgres superuser. runuser keeps the environment, so PGHOST/PGPORT and
# the password variable below reach psql (the password never appears on a command line).
pg() {
    runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 "$@"
}

pg -d postgres -Atc 'SELECT 1' >/dev/null \
    || die "cannot connect to PostgreSQL as postgres (is the server running? PGHOST/PGPORT?)"

[[ $(pg -d postgres -Atc "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'") == 1 ]] \
    || die "PostGIS is not installed for this server: apt-get install postgresql-15-postgis-3"

role_exists=$(pg -d postgres -Atc "SELECT count(*) FROM pg_roles WHERE rolname = '$DB_USER'")

# Decide whether a password is (re)set in this run.
set_password=0
if [[ -n $DB_PASSWORD ]]; then
    set_password=1
elif [[ $role_exists == 0 || $RESET_PASSWORD == 1 ]]; then
    # 48 hex characters: URL-safe and env-file-safe, no quoting needed anywhere.
    DB_PASSWORD=$(openssl rand -hex 24 2>/dev/null || od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
    set_password=1
fi
export GRID_SETUP_PASSWORD=$DB_PASSWORD

# Role: created if missing, password set only when decided above. The password is read
# from the environment with \getenv (psql 15) and quoted by format(%L).
pg -d postgres -v dbuser="$DB_USER" -v setpw="$set_password" <<'SQL'
\getenv pw GRID_SETUP_PASSWORD
SELECT format('CREATE ROLE %I LOGIN', :'dbuser')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'dbuser') \gexec
-- Make sure it can log in and has no special powers (also for a pre-existing role).
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION', :'dbuser') \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'dbuser', :'pw') WHERE :'setpw' = '1' \gexec
SQL
unset GRID_SETUP_PASSWORD

# Database: UTF-8 (Chinese names and addresses), owned by the app role so that its
# migrations can create and alter tables. C.UTF-8 collation is deterministic and
# independent of which OS locales happen to be generated.
pg -d postgres -v dbname="$DB_NAME" -v dbuser="$DB_USER" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L LC_COLLATE %L LC_CTYPE %L TEMPLATE template0',
              :'dbname', :'dbuser', 'UTF8', 'C.UTF-8', 'C.UTF-8')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'dbname') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'dbname', :'dbuser') \gexec
-- Only the app role (and superusers) may connect.
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'dbname') \gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', :'dbname', :'dbuser') \gexec
SQL

# PostGIS needs a superuser to install; the app role then uses it.
pg -d "$DB_NAME" -v dbuser="$DB_USER" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS postgis;
SELECT format('GRANT USAGE, CREATE ON SCHEMA public TO %I', :'dbuser') \gexec
SELECT format('GRANT SELECT ON public.spatial_ref_sys, public.geometry_columns, public.geography_columns TO %I', :'dbuser') \gexec
SQL

postgis_version=$(pg -d "$DB_NAME" -Atc 'SELECT postgis_lib_version()')
port=${PGPORT:-$(pg -d postgres -Atc 'SHOW port')}

echo "postgis-setup: database '$DB_NAME' (owner '$DB_USER', PostGIS $postgis_version) is ready."
if [[ $set_password == 1 ]]; then
    # URL-encode in case a password with special characters was supplied.
    # (Generated passwords are hex and come out unchanged.) Via stdin, not argv.
    enc_password=$(printf '%s' "$DB_PASSWORD" \
        | python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.stdin.read(), safe=""))' 2>/dev/null) \
        || enc_password=$DB_PASSWORD
    echo "Put this line into /etc/grid-inspection/env (the password is shown only now):"
    echo
    echo "DATABASE_URL=postgresql+psycopg://$DB_USER:$enc_password@$URL_HOST:$port/$DB_NAME"
    echo
else
    echo "Role '$DB_USER' already existed; its password was left unchanged (--reset-password for a new one)."
    echo "DATABASE_URL=postgresql+psycopg://$DB_USER:<existing password>@$URL_HOST:$port/$DB_NAME"
fi
if [[ $URL_HOST != 127.0.0.1 && $URL_HOST != localhost ]]; then
    echo "App on another host: set listen_addresses in postgresql.conf and add to pg_hba.conf e.g."
    echo "  hostssl $DB_NAME $DB_USER <app-host-ip>/32 scram-sha-256"
fi
