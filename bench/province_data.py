"""The province data set of bench/province.py, built with bulk inserts on a PostGIS cluster.

The 103 Inner Mongolia districts cut into streets and communities (grid_maps.subdivide),
premises placed inside communities, inspections on them (COPY), and the users the bench
measures: a coordinator on one community, a city supervisor on one city cell and a province
supervisor on the root cell. The map declares its levels (grid_maps.levels) province → city →
district → street → community, as services/grid.py stores a map imported under a root. The built database is kept as a template in a cluster under a cache directory,
so a rerun copies it instead of building it again.
"""

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DISTRICTS = ROOT / "tests" / "data" / "boundaries" / "inner-mongolia-districts.geojson"
PASSWORD = "bench-password"
DATA_VERSION = 3  # bump when the data set's shape changes: cached templates are rebuilt
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
FLAGS = json.dumps([{"code": "no_gps", "message": "The record has no GPS fix."}])


@dataclass(frozen=True)
class Shape:
    """How big the data set is."""

    streets_per_district: int
    communities_per_street: int
    premises: int
    inspections: int
    items_per_inspection: int

    @classmethod
    def scaled(cls, scale, inspections=None, items=1):
        communities = max(2, round(10 * scale ** 0.5)) if scale < 1 else 10
        return cls(10, communities, max(1000, round(100_000 * scale)),
                   inspections if inspections is not None else max(10_000, round(1_000_000 * scale)),
                   items)

    def key(self):
        """Name the template: the shape, the data version and the migrations it was built at."""
        migrations = sorted(p.name for p in (ROOT / "migrations" / "versions").glob("*.py"))
        digest = hashlib.sha256(json.dumps([asdict(self), DATA_VERSION, migrations])
                                .encode()).hexdigest()[:10]
        return f"province_{digest}"


MAP_LEVELS = ("province", "city", "district", "street", "community")


def root_level():
    """Return the level of the map's root cell above the city level ("province")."""
    return MAP_LEVELS[0]


CITY_NAMES = {"1501": "呼和浩特市", "1502": "包头市", "1503": "乌海市", "1504": "赤峰市",
              "1505": "通辽市", "1506": "鄂尔多斯市", "1507": "呼伦贝尔市", "1508": "巴彦淖尔市",
              "1509": "乌兰察布市", "1522": "兴安盟", "1525": "锡林郭勒盟", "1529": "阿拉善盟"}


def city_code(district_code):
    """Return the code of the city (地级市/盟) a district's GB code belongs to."""
    return district_code[:7] + "00"


# --- the cluster -------------------------------------------------------------------------

@contextmanager
def cluster(cache_dir=None):
    """Yield an admin psycopg URL of a running cluster: kept in cache_dir, else thrown away."""
    from tests.pgcluster import _as_postgres, _bin_dir, _free_port

    bindir = _bin_dir()
    workdir = Path(cache_dir).resolve() if cache_dir else Path(
        __import__("tempfile").mkdtemp(prefix="grid-province-"))
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / "pgdata"
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
    port = _free_port()
    try:
        if not (data / "PG_VERSION").exists():
            shutil.rmtree(data, ignore_errors=True)
            subprocess.run(_as_postgres([f"{bindir}/initdb", "-D", str(data), "-A", "trust", "-U",
                                         "postgres", "-E", "UTF8", "--no-locale"]), check=True, **quiet)
        options = (f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300 "
                   "-c max_wal_size=4GB")
        subprocess.run(_as_postgres([f"{bindir}/pg_ctl", "-D", str(data), "-o", options, "-w",
                                     "-l", str(workdir / "log"), "start"]), check=True, **quiet)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    except subprocess.CalledProcessError as error:
        raise RuntimeError(f"{error.cmd[0:3]} failed: {error.stderr.decode(errors='replace')}") \
            from error
    finally:
        # A clean stop: a kept data directory must not need crash recovery (fsync is off).
        subprocess.run(_as_postgres([f"{bindir}/pg_ctl", "-D", str(data), "-m",
                                     "immediate" if not cache_dir else "fast", "stop"]),
                       check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not cache_dir:
            shutil.rmtree(workdir, ignore_errors=True)


def admin_sql(admin_url, *statements):
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        return [connection.execute(sql).fetchall() if sql.lstrip().upper().startswith("SELECT")
                else connection.execute(sql) and None for sql in statements]


def database_url(admin_url, name):
    """The SQLAlchemy URL of a database of the cluster."""
    return admin_url.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0] + "/" + name


def exists(admin_url, name):
    return bool(admin_sql(admin_url, f"SELECT 1 FROM pg_database WHERE datname = '{name}'")[0])


def create_database(admin_url, name, template=None):
    admin_sql(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    if template:
        admin_sql(admin_url, f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
        return
    admin_sql(admin_url, f"CREATE DATABASE {name}")
    import psycopg

    with psycopg.connect(admin_url.rsplit("/", 1)[0] + "/" + name, autocommit=True) as connection:
        connection.execute("CREATE EXTENSION postgis")


def ensure_templates(admin_url, shape, log=print):
    """Return (full, map_only) template names for the shape, building them when missing."""
    name = shape.key()
    if exists(admin_url, name) and exists(admin_url, f"{name}_map"):
        log(f"data set: reusing the cached template {name}")
        return name, f"{name}_map"
    building = f"{name}_building"
    create_database(admin_url, building)
    started = time.perf_counter()
    build(admin_url, building, f"{name}_map", shape, log)
    admin_sql(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)",
              f"ALTER DATABASE {building} RENAME TO {name}")
    log(f"data set: built template {name} in {time.perf_counter() - started:.0f} s")
    return name, f"{name}_map"


# --- building ----------------------------------------------------------------------------

def build(admin_url, database, map_template, shape, log):
    from flask_migrate import upgrade

    from server import create_app
    from server.config import TestConfig
    from server.db import transaction
    from server.extensions import db
    from server.services.passwords import use_fast_hashing

    use_fast_hashing(True)
    rng = random.Random(20261207)
    app = create_app(TestConfig(database_url(admin_url, database)))
    with app.app_context():
        upgrade()
        session = db.session
        started = time.perf_counter()
        with transaction():
            leaves = add_map(session, shape)
            add_users(session, leaves, rng)
        log(f"data set: {len(leaves['communities']):,} leaf cells in "
            f"{time.perf_counter() - started:.0f} s")
        db.session.remove()
        db.engine.dispose()
        create_database(admin_url, map_template, template=database)
        started = time.perf_counter()
        with transaction():
            placed = add_premises(session, leaves, shape, rng)
        log(f"data set: {len(placed):,} premises in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        with transaction():
            add_inspections(session, placed, shape, rng, log)
        log(f"data set: {shape.inspections:,} inspections in "
            f"{time.perf_counter() - started:.0f} s")
        db.session.remove()
        db.engine.dispose()
    import psycopg

    with psycopg.connect(admin_url.rsplit("/", 1)[0] + "/" + database, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def add_map(session, shape):
    """Store the active map: province root, cities, districts, streets, communities."""
    import shapely
    from geoalchemy2.shape import from_shape
    from shapely.geometry import shape as to_geometry
    from sqlalchemy import func, insert, select, text

    from grid_maps import subdivide
    from grid_maps.geometry import areas_m2, to_multipolygon
    from grid_maps.levels import normalise_levels
    from server.models import GridCell, GridMap

    grid_map = GridMap(jurisdiction_code="150000", name="内蒙古自治区", version=1,
                       status="active", activated_at=datetime.now(UTC),
                       levels=normalise_levels(list(MAP_LEVELS)))
    session.add(grid_map)
    session.flush()
    features = json.loads(DISTRICTS.read_text(encoding="utf-8"))["features"]
    next_id = (session.scalar(select(func.max(GridCell.id))) or 0) + 1
    rows, out = [], {"districts": [], "streets": [], "communities": [], "cities": [],
                     "root": None}

    def add(level, code, name, geometry, parent):
        nonlocal next_id
        cell_id, next_id = next_id, next_id + 1
        path = f"{parent['path'] if parent else '/'}{cell_id}/"
        row = {"id": cell_id, "map_id": grid_map.id, "parent_id": parent["id"] if parent else None,
               "level": level, "code": code, "name": name, "path": path,
               "geom": to_multipolygon(geometry)}
        rows.append(row)
        return row

    # The root and the cities are the unions of their districts, as an import under a root
    # stores them (services/grid.py _import_under_root).
    geometries = [to_geometry(f["geometry"]) for f in features]
    root = out["root"] = add(root_level(), "150000", "内蒙古自治区",
                             shapely.union_all(geometries), None)
    by_city = {}
    for feature, geometry in zip(features, geometries):
        by_city.setdefault(city_code(feature["properties"]["gb"]), []).append(geometry)
    cities = {code: add("city", code, CITY_NAMES.get(code[3:7], code),
                          shapely.union_all(parts), root)
              for code, parts in sorted(by_city.items())}
    out["cities"] = list(cities.values())
    for feature in features:
        district = add("district", feature["properties"]["gb"], feature["properties"]["name"],
                       to_geometry(feature["geometry"]),
                       cities[city_code(feature["properties"]["gb"])])
        out["districts"].append(district)
        for s, street_geom in enumerate(subdivide(district["geom"], shape.streets_per_district), 1):
            street = add("street", f"{district['code']}{s:03d}", f"{district['name']}第{s}街道",
                         street_geom, district)
            out["streets"].append(street)
            for c, piece in enumerate(subdivide(street["geom"], shape.communities_per_street), 1):
                out["communities"].append(add("community", f"{street['code']}{c:03d}",
                                              f"{street['name']}第{c}社区", piece, street))
    areas = areas_m2([row["geom"] for row in rows])
    stored = [{**row, "area_m2": float(area), "geom": from_shape(row["geom"], srid=4326)}
              for row, area in zip(rows, areas)]
    for start in range(0, len(stored), 1000):
        session.execute(insert(GridCell), stored[start:start + 1000])
    session.execute(text("SELECT setval('grid_cells_id_seq', :last)"), {"last": next_id - 1})
    out["map_id"] = grid_map.id
    return out


def add_users(session, leaves, rng):
    """Admin, officers who submit, and the three users measured, with their assignments."""
    from server.services.assignments import create_assignment
    from server.services.checklists import load_templates
    from server.services.users import create_user

    admin = create_user(session, username="bench-admin", role="admin", password=PASSWORD)
    for n in range(10):
        create_user(session, username=f"bench-officer-{n}", role="officer", password=PASSWORD)
    load_templates(session)
    sizes = Counter(city_code(d["code"]) for d in leaves["districts"])
    city = next(c for c in leaves["cities"] if c["code"] == sizes.most_common(1)[0][0])
    community = next(c for c in leaves["communities"] if c["path"].startswith(city["path"]))
    users = {
        "coordinator": (create_user(session, username="bench-coordinator", role="coordinator",
                                    password=PASSWORD), [community]),
        "city": (create_user(session, username="bench-city", role="supervisor",
                             password=PASSWORD), [city]),
        "province": (create_user(session, username="bench-province", role="supervisor",
                                 password=PASSWORD),
                     [leaves["root"]]),
    }
    for user, cells in users.values():
        for cell in cells:
            create_assignment(session, admin, user_id=user.id, cell_id=cell["id"])
    session.flush()


def add_premises(session, leaves, shape, rng):
    """Place premises uniformly at random in communities; return [(id, cell_id)]."""
    import numpy as np
    import shapely
    from sqlalchemy import func, select, text

    from server.models import Premises

    communities = leaves["communities"]
    counts = Counter(rng.randrange(len(communities)) for _ in range(shape.premises))
    generator = np.random.default_rng(20261207)
    first = (session.scalar(select(func.max(Premises.id))) or 0) + 1
    now = datetime.now(UTC)
    placed, rows = [], []
    for index, count in sorted(counts.items()):
        cell = communities[index]
        points = random_points_in(cell["geom"], count, generator, shapely)
        for lon, lat in points:
            premises_id = first + len(placed)
            placed.append((premises_id, cell["id"]))
            rows.append((premises_id, f"省压测单位{premises_id}", "clinic",
                         "private" if premises_id % 3 else "public", f"PROV-{premises_id:08d}",
                         f"内蒙古自治区{cell['name']}", f"SRID=4326;POINT({lon:.7f} {lat:.7f})",
                         cell["id"], ("low", "medium", "high")[premises_id % 3], "none",
                         "张三", "13800000000", True, 1, now, now))
    copy_rows(session, "premises", ("id", "name", "category_code", "ownership", "licence_no",
                                    "address", "location", "cell_id", "risk_level", "list_status",
                                    "contact_name", "contact_phone", "active", "version",
                                    "created_at", "updated_at"), rows)
    session.execute(text("SELECT setval('premises_id_seq', :last)"), {"last": first + len(rows) - 1})
    return placed


def random_points_in(geometry, count, generator, shapely):
    """Return count (lon, lat) points inside the geometry, by rejection in its bounding box."""
    minx, miny, maxx, maxy = geometry.bounds
    found = []
    while len(found) < count:
        xs = generator.uniform(minx, maxx, count * 4)
        ys = generator.uniform(miny, maxy, count * 4)
        inside = shapely.contains_xy(geometry, xs, ys)
        found += list(zip(xs[inside].tolist(), ys[inside].tolist()))
    return found[:count]


def add_inspections(session, placed, shape, rng, log):
    """COPY inspections (ordered by time), one inspector each and their item results."""
    from sqlalchemy import select, text

    from server.models import ChecklistTemplate, User

    template = session.scalars(select(ChecklistTemplate).order_by(ChecklistTemplate.id)).first()
    codes = [item.code for item in template.items]
    officers = list(session.scalars(select(User.id).where(User.username.like("bench-officer-%"))))
    span = 2 * 365 * 24 * 3600
    batch = 200_000
    item_id = 1
    for start in range(0, shape.inspections, batch):
        inspections, inspectors, items = [], [], []
        for n in range(start, min(start + batch, shape.inspections)):
            premises_id, cell_id = placed[rng.randrange(len(placed))]
            at = EPOCH + timedelta(seconds=span * n // shape.inspections)
            officer = officers[n % len(officers)]
            flagged = n % 20 == 0
            inspections.append((n + 1, str(uuid.UUID(int=n + 1)), "0" * 64, "patrol",
                                premises_id, cell_id, template.id, officer, at, at,
                                "", "compliant", "", FLAGS if flagged else "[]", flagged))
            inspectors.append((n + 1, officer))
            for code in codes[:shape.items_per_inspection]:
                items.append((item_id, n + 1, code, "compliant", ""))
                item_id += 1
        copy_rows(session, "inspections", (
            "id", "client_uuid", "content_hash", "kind", "premises_id", "cell_id", "template_id",
            "submitted_by_id", "device_time", "server_time", "findings", "conclusion",
            "revision_reason", "evidence_flags", "has_flags"), inspections)
        copy_rows(session, "inspection_inspectors", ("inspection_id", "user_id"), inspectors)
        copy_rows(session, "inspection_item_results",
                  ("id", "inspection_id", "item_code", "result", "note"), items)
        log(f"data set: {min(start + batch, shape.inspections):,} inspections stored")
    session.execute(text("SELECT setval('inspections_id_seq', :last)"),
                    {"last": shape.inspections})
    session.execute(text("SELECT setval('inspection_item_results_id_seq', :last)"),
                    {"last": max(1, item_id - 1)})


def copy_rows(session, table, columns, rows):
    """COPY rows into a table on the session's own connection (its transaction)."""
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor, \
            cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
