"""A throwaway PostgreSQL + PostGIS cluster for tests and benchmarks.

`python -m tests.pgcluster CMD ...` starts a cluster on a free 127.0.0.1 port, runs CMD with
DATABASE_URL pointing at it, then stops and deletes it. PostgreSQL refuses to run as root,
so as root the server runs as the `postgres` user.
"""

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from contextlib import contextmanager


def _bin_dir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL server not found: apt-get install postgresql postgresql-15-postgis-3")
    return os.path.dirname(found[-1])


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(args):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


@contextmanager
def throwaway_cluster(database="grid_test"):
    """Start a cluster, create `database` with PostGIS, yield its SQLAlchemy URL, clean up."""
    bindir = _bin_dir()
    workdir = tempfile.mkdtemp(prefix="grid-pg-")
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres")
    data = os.path.join(workdir, "data")
    port = _free_port()
    run = dict(check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        subprocess.run(_as_postgres([f"{bindir}/initdb", "-D", data, "-A", "trust", "-U",
                                     "postgres", "-E", "UTF8", "--no-locale"]), **run)
        options = (f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
        subprocess.run(_as_postgres([f"{bindir}/pg_ctl", "-D", data, "-o", options, "-w",
                                     "-l", os.path.join(workdir, "log"), "start"]), **run)
        psql = ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-v",
                "ON_ERROR_STOP=1", "-q"]
        subprocess.run([*psql, "-c", f"CREATE DATABASE {database}"], **run)
        subprocess.run([*psql, "-d", database, "-c", "CREATE EXTENSION postgis"], **run)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"
    except subprocess.CalledProcessError as error:
        raise RuntimeError(f"{error.cmd[0:3]} failed: {error.stderr.decode(errors='replace')}") from error
    finally:
        subprocess.run(_as_postgres([f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv):
    """Run a command against a throwaway cluster and return its exit code."""
    if not argv:
        print("usage: python -m tests.pgcluster CMD [ARGS...]", file=sys.stderr)
        return 2
    with throwaway_cluster() as url:
        env = dict(os.environ, DATABASE_URL=url)
        print(f"PostgreSQL + PostGIS throwaway cluster at {url}", flush=True)
        return subprocess.call(argv, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
