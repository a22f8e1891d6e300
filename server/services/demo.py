"""Demo data: Wuhai (乌海市) over its three real districts, cut into streets and communities,
with staff; the city supervisor has one assignment, to the city."""

from datetime import date, timedelta
from pathlib import Path

from geoalchemy2.shape import to_shape
from sqlalchemy import select

from server.models import CellAssignment, GridCell, GridMap, Premises
from server.services import grid as grid_service
from server.services.assignments import create_assignment
from server.services.checklists import load_templates
from server.services.premises import create_premises
from server.services.tasks import create_task
from server.services.users import create_user, find_user

DEMO_FILE = Path(__file__).resolve().parent.parent / "demo" / "wuhai-districts.geojson"
JURISDICTION = "150300"
# The city cell above the districts (GB/T 2260 code of 乌海市 with the 156 country prefix).
CITY = {"code": "156150300", "name": "乌海市", "level": "city"}
STREETS_PER_DISTRICT = 3
COMMUNITIES_PER_STREET = 3
DEMO_PASSWORD = "demo-2026"

# username, role, display name, code of the cell they are on (None: no cell)
DEMO_USERS = [
    ("admin", "admin", "系统管理员", None),
    ("wuhai.supervisor", "supervisor", "乌海市卫生监督所 张主任", CITY["code"]),
    ("haibowan.supervisor", "supervisor", "海勃湾区卫生监督所 刘科长", "156150302"),
    ("li.officer", "officer", "卫生监督员 李明", "156150302001"),
    ("chen.officer", "officer", "卫生监督员 陈静", "156150302001"),
    ("wang.coordinator", "coordinator", "协管员 王芳", "156150302001001"),
    ("zhao.coordinator", "coordinator", "协管员 赵强", "156150302001002"),
    ("sun.coordinator", "coordinator", "协管员 孙丽", "156150304002003"),
]


# name, category, community code, licence number (fictional, for the demo)
DEMO_PREMISES = [
    ("新华街社区卫生服务中心（示例）", "community_health_centre", "156150302001001", "DEMO-PDY-0001"),
    ("康宁口腔诊所（示例）", "dental_clinic", "156150302001001", "DEMO-PDY-0002"),
    ("仁和中医诊所（示例）", "clinic", "156150302001002", "DEMO-PDY-0003"),
    ("金海湾宾馆（示例）", "public_place", "156150302001002", "DEMO-GGCS-0004"),
    ("第十中学（示例）", "school", "156150302002001", "DEMO-XX-0005"),
    ("海勃湾区第二水厂（示例）", "water_supplier", "156150302003002", "DEMO-GS-0006"),
    ("美丽人生医疗美容诊所（示例）", "medical_cosmetic_clinic", "156150304002003", "DEMO-PDY-0007"),
    ("乌达区人民医院（示例）", "hospital", "156150304001001", "DEMO-PDY-0008"),
]


def load_demo(session, case_numbering=None):
    """Load the demo map and users once; running it again changes nothing. Return a summary."""
    created = {"map": False, "users": [], "premises": 0}
    grid_map = session.scalar(select(GridMap).where(GridMap.jurisdiction_code == JURISDICTION))
    if grid_map is None:
        grid_map = _load_map(session)
        created["map"] = True
    for username, role, display_name, cell_codes in DEMO_USERS:
        if find_user(session, username) is not None:
            continue
        user = create_user(session, username=username, role=role, password=DEMO_PASSWORD,
                           display_name=display_name)
        created["users"].append(username)
        admin = find_user(session, "admin")
        for code in (cell_codes or "").split("|") if cell_codes else []:
            cell = session.scalar(select(GridCell).where(GridCell.map_id == grid_map.id,
                                                         GridCell.code == code))
            already = session.scalar(select(CellAssignment.id).where(
                CellAssignment.user_id == user.id, CellAssignment.cell_id == cell.id))
            if not already:
                create_assignment(session, admin, user_id=user.id, cell_id=cell.id)
    load_templates(session)
    from server.services.followups.calendars import load_shipped_calendars

    load_shipped_calendars(session)  # the years not loaded yet: an office's own are kept
    created["premises"] = _load_premises(session, grid_map, find_user(session, "admin"))
    from server.services.demo_followups import load_demo_followups

    created["followups"] = load_demo_followups(session, case_numbering=case_numbering)
    return {"map_id": grid_map.id, **created}


def _load_premises(session, grid_map, admin):
    count = 0
    for name, category, cell_code, licence_no in DEMO_PREMISES:
        if session.scalar(select(Premises.id).where(Premises.licence_no == licence_no)):
            continue
        cell = session.scalar(select(GridCell).where(GridCell.map_id == grid_map.id,
                                                     GridCell.code == cell_code))
        point = to_shape(cell.geom).representative_point()
        premises = create_premises(session, admin, {
            "name": name, "category_code": category, "ownership": "private",
            "licence_no": licence_no, "address": f"乌海市{cell.name}", "lon": point.x,
            "lat": point.y})
        create_task(session, admin, kind="routine_patrol", premises_id=premises.id,
                    due_date=date.today() + timedelta(days=7 + count))
        count += 1
    return count


def _load_map(session):
    grid_map = grid_service.create_map(session, jurisdiction_code=JURISDICTION, name="乌海市卫生监督网格")
    grid_service.import_level(session, grid_map, DEMO_FILE.read_bytes(), level="district",
                              code_property="gb", name_property="name", root=CITY)
    districts = session.scalars(select(GridCell).where(GridCell.map_id == grid_map.id,
                                                       GridCell.level == "district")
                                .order_by(GridCell.code)).all()
    for district in districts:
        for street in grid_service.subdivide_cell(session, district, STREETS_PER_DISTRICT):
            grid_service.subdivide_cell(session, street, COMMUNITIES_PER_STREET)
    grid_service.activate_map(session, grid_map)
    return grid_map
