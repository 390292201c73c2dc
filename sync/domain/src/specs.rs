//! The specification of every synced record (see [`crate::spec`]). The field lists are the
//! device's table columns (a test in gridpad-core holds the schema to them) and the only
//! fields the hub accepts.

use crate::codes::*;
use crate::spec::Kind::*;
use crate::spec::Writer::{Centre, Device};
use crate::spec::*;
use crate::worktime::DeadlineUnit;
use crate::Entity;

const ID: Kind = Ref(Entity::Grid);
const fn grid_id() -> FieldSpec {
    FieldSpec::req("grid_id", ID)
}
const LAT: Kind = Real(-90.0, 90.0);
const LON: Kind = Real(-180.0, 180.0);
const SHORT: usize = 64;
const LINE: usize = 200;
const NOTE: usize = 2_000;
const LONG: usize = 8_000;

pub static GRID: EntitySpec = EntitySpec {
    entity: Entity::Grid,
    table: "grid",
    key: "id",
    flow: Flow::Central,
    scope: ScopeRule::GridNode,
    fields: &[
        FieldSpec::req("code", Text(32)).by(Centre),
        FieldSpec::req("name", Name(SHORT)).by(Centre),
        FieldSpec::req("level", Code(GridLevel::CODES)).by(Centre),
        FieldSpec::opt("parent_id", Ref(Entity::Grid)).by(Centre),
        FieldSpec::opt("boundary", Boundary).by(Centre),
    ],
    photos: false,
    commands: &[],
    search: &[],
};

pub static ADDRESS: EntitySpec = EntitySpec {
    entity: Entity::Address,
    table: "address",
    key: "id",
    flow: Flow::BaseData,
    scope: ScopeRule::GridField,
    fields: &[
        grid_id(),
        FieldSpec::opt("code", Text(SHORT)),
        FieldSpec::def("district", Text(SHORT)),
        FieldSpec::def("street", Text(SHORT)),
        FieldSpec::def("community", Text(SHORT)),
        FieldSpec::def("road", Text(SHORT)),
        FieldSpec::def("number", Text(SHORT)),
        FieldSpec::req("full_text", Name(LINE)),
        FieldSpec::opt("lat", LAT),
        FieldSpec::opt("lon", LON),
    ],
    photos: false,
    commands: &[],
    search: &[],
};

pub static BUILDING: EntitySpec = EntitySpec {
    entity: Entity::Building,
    table: "building",
    key: "id",
    flow: Flow::BaseData,
    scope: ScopeRule::GridField,
    fields: &[
        grid_id(),
        FieldSpec::opt("address_id", Ref(Entity::Address)),
        FieldSpec::req("name", Name(SHORT)),
        FieldSpec::opt("floors", Int(1, 200)),
        FieldSpec::def("kind", Name(32)),
        FieldSpec::opt("lat", LAT),
        FieldSpec::opt("lon", LON),
    ],
    photos: false,
    commands: &[],
    search: &[],
};

pub static HOUSE: EntitySpec = EntitySpec {
    entity: Entity::House,
    table: "house",
    key: "id",
    flow: Flow::BaseData,
    scope: ScopeRule::GridField,
    fields: &[
        FieldSpec::opt("building_id", Ref(Entity::Building)),
        grid_id(),
        FieldSpec::def("unit_no", Text(16)),
        FieldSpec::req("room", Name(32)),
        FieldSpec::opt("floor", Int(-5, 200)),
        FieldSpec::req("use", Code(HouseUse::CODES)),
        FieldSpec::opt("tenure", Code(Tenure::CODES)),
        FieldSpec::opt("area_m2", Real(0.01, 10_000.0)),
        FieldSpec::req("full_address", Name(LINE)),
    ],
    photos: false,
    commands: &[],
    search: &["full_address"],
};

pub static PERSON: EntitySpec = EntitySpec {
    entity: Entity::Person,
    table: "person",
    key: "id",
    flow: Flow::BaseData,
    scope: ScopeRule::GridField,
    fields: &[
        grid_id(),
        FieldSpec::opt("house_id", Ref(Entity::House)),
        FieldSpec::req("name", Name(SHORT)),
        FieldSpec::opt("id_number", IdNumber),
        FieldSpec::opt("phone", Phone),
        FieldSpec::req("sex", Code(Sex::CODES)),
        FieldSpec::opt("birth_date", Date),
        FieldSpec::def("relation", Code(Relation::CODES)),
        FieldSpec::req("residence_type", Code(ResidenceType::CODES)),
        FieldSpec::def("tags", Tags(Some(PersonTag::CODES))),
        FieldSpec::def("note", Text(NOTE)),
    ],
    photos: false,
    commands: &[],
    search: &["name", "house_id"],
};

pub static ORGANISATION: EntitySpec = EntitySpec {
    entity: Entity::Organisation,
    table: "organisation",
    key: "id",
    flow: Flow::BaseData,
    scope: ScopeRule::GridField,
    fields: &[
        grid_id(),
        FieldSpec::opt("address_id", Ref(Entity::Address)),
        FieldSpec::req("name", Name(LINE)),
        FieldSpec::req("kind", Code(OrgKind::CODES)),
        // Unified social credit codes since 2015, older licence numbers in imports: the
        // device's form checks a new code's check character (`checks::credit_code`).
        FieldSpec::opt("licence_no", Text(32)),
        FieldSpec::opt("contact_name", Text(SHORT)),
        FieldSpec::opt("contact_phone", Phone),
        FieldSpec::def("address_text", Text(LINE)),
        FieldSpec::def("risk_tags", Tags(None)),
    ],
    photos: false,
    commands: &[],
    search: &["name", "address_text"],
};

pub static FACILITY: EntitySpec = EntitySpec {
    entity: Entity::Facility,
    table: "facility",
    key: "id",
    flow: Flow::BaseData,
    scope: ScopeRule::GridField,
    fields: &[
        grid_id(),
        FieldSpec::req("kind", Name(32)),
        FieldSpec::opt("code", Text(SHORT)),
        FieldSpec::opt("lat", LAT),
        FieldSpec::opt("lon", LON),
        FieldSpec::def("state", Code(FacilityState::CODES)),
        FieldSpec::def("note", Text(NOTE)),
    ],
    photos: false,
    commands: &[],
    search: &[],
};

pub static CATALOG_CATEGORY: EntitySpec = EntitySpec {
    entity: Entity::CatalogCategory,
    table: "catalog_category",
    key: "code",
    flow: Flow::Central,
    scope: ScopeRule::Catalog,
    fields: &[
        FieldSpec::opt("parent_code", Ref(Entity::CatalogCategory)).by(Centre),
        FieldSpec::req("level", Int(1, 2)).by(Centre),
        FieldSpec::req("name", Name(SHORT)).by(Centre),
        FieldSpec::def("department", Text(SHORT)).by(Centre),
        FieldSpec::opt("deadline_hours", Int(1, 24 * 366)).by(Centre),
        // The unit of `deadline_hours`; absent: hours on the clock (catalogs from before).
        FieldSpec::opt("deadline_unit", Code(DeadlineUnit::CODES)).by(Centre),
        FieldSpec::def("yellow_pct", Int(1, 100)).by(Centre),
        FieldSpec::def("red_pct", Int(1, 100)).by(Centre),
        FieldSpec::def("fields", List(64 * 1024)).by(Centre),
        FieldSpec::def("photo_policy", Object(4 * 1024)).by(Centre),
        FieldSpec::def("sort", Int(-1_000_000, 1_000_000)).by(Centre),
    ],
    photos: false,
    commands: &[],
    search: &[],
};

/// The statuses a device may give a new report.
pub const NEW_REPORT_STATUSES: &[&str] = &["reported", "handled_on_spot"];

pub static EVENT: EntitySpec = EntitySpec {
    entity: Entity::Event,
    table: "event",
    key: "id",
    flow: Flow::Report,
    scope: ScopeRule::ReporterDevice,
    fields: &[
        grid_id().by(Device),
        FieldSpec::req("category_code", Ref(Entity::CatalogCategory)).by(Device),
        FieldSpec::req("description", Text(LONG)).by(Device),
        FieldSpec::def("address_text", Text(LINE)).by(Device),
        FieldSpec::def("fields", Object(16 * 1024)).by(Device),
        // A device gives the first status (see NEW_REPORT_STATUSES); the centre the rest,
        // through its lifecycle.
        FieldSpec::req("status", Code(EventStatus::CODES)),
        FieldSpec::def("handled_on_spot", Flag).by(Device),
        FieldSpec::req("reporter", Name(SHORT)).by(Device),
        FieldSpec::opt("position", Position).by(Device),
        FieldSpec::req("device_time", Time).by(Device),
        FieldSpec::opt("corrected_time", Time).by(Device),
        FieldSpec::opt("reported_at", Time).by(Device),
        FieldSpec::opt("deadline_at", Time),
    ],
    photos: true,
    commands: &[],
    search: &[],
};

const AT: FieldSpec = FieldSpec::req("at", Time);
const TASK_POSITION: FieldSpec = FieldSpec::opt("position", Position);

pub static TASK: EntitySpec = EntitySpec {
    entity: Entity::Task,
    table: "task",
    key: "id",
    flow: Flow::Central,
    scope: ScopeRule::GridField,
    fields: &[
        grid_id().by(Centre),
        FieldSpec::opt("assignee", Text(SHORT)).by(Centre),
        FieldSpec::req("title", Name(LINE)).by(Centre),
        FieldSpec::def("body", Text(LONG)).by(Centre),
        FieldSpec::opt("source_event_id", Ref(Entity::Event)).by(Centre),
        FieldSpec::opt("category_code", Ref(Entity::CatalogCategory)).by(Centre),
        FieldSpec::req("status", Code(TaskStatus::CODES)).by(Centre),
        FieldSpec::def("priority", Int(0, 9)).by(Centre),
        FieldSpec::req("created_at", Time).by(Centre),
        FieldSpec::opt("deadline_at", Time).by(Centre),
        FieldSpec::def("feedback", Text(LONG)).by(Centre),
        FieldSpec::def("reject_reason", Text(NOTE)).by(Centre),
        TASK_POSITION.by(Centre),
        FieldSpec::opt("updated_at", Time).by(Centre),
    ],
    photos: false,
    commands: &[
        CommandSpec {
            name: "accept",
            args: &[AT, TASK_POSITION],
            photos: false,
        },
        CommandSpec {
            name: "start",
            args: &[AT, TASK_POSITION],
            photos: false,
        },
        CommandSpec {
            name: "complete",
            args: &[AT, TASK_POSITION, FieldSpec::opt("feedback", Text(LONG))],
            photos: true,
        },
        CommandSpec {
            name: "reject",
            args: &[AT, TASK_POSITION, FieldSpec::opt("reason", Text(NOTE))],
            photos: false,
        },
    ],
    search: &[],
};

/// Where and when a device record was made.
const POSITION: FieldSpec = FieldSpec::opt("position", Position);
const DEVICE_TIME: FieldSpec = FieldSpec::req("device_time", Time);
const CORRECTED_TIME: FieldSpec = FieldSpec::opt("corrected_time", Time);

pub static VISIT: EntitySpec = EntitySpec {
    entity: Entity::Visit,
    table: "visit",
    key: "id",
    flow: Flow::Upward,
    scope: ScopeRule::Uploader,
    fields: &[
        grid_id(),
        FieldSpec::opt("house_id", Ref(Entity::House)),
        FieldSpec::opt("person_id", Ref(Entity::Person)),
        FieldSpec::req("kind", Code(VisitKind::CODES)),
        FieldSpec::def("topic", Text(LINE)),
        FieldSpec::def("note", Text(LONG)),
        POSITION,
        DEVICE_TIME,
        CORRECTED_TIME,
    ],
    photos: true,
    commands: &[],
    search: &[],
};

pub static DIARY: EntitySpec = EntitySpec {
    entity: Entity::Diary,
    table: "diary",
    key: "id",
    flow: Flow::Upward,
    scope: ScopeRule::Uploader,
    fields: &[
        grid_id(),
        FieldSpec::req("day", Date),
        FieldSpec::req("content", Name(LONG)),
        POSITION,
        DEVICE_TIME,
        CORRECTED_TIME,
    ],
    photos: true,
    commands: &[],
    search: &[],
};

pub static PATROL: EntitySpec = EntitySpec {
    entity: Entity::Patrol,
    table: "patrol",
    key: "id",
    flow: Flow::Upward,
    scope: ScopeRule::Uploader,
    fields: &[
        grid_id(),
        FieldSpec::req("started_at", Time),
        FieldSpec::opt("ended_at", Time),
        FieldSpec::def("distance_m", Real(0.0, 1_000_000.0)),
        FieldSpec::def("inside_grid_s", Real(0.0, 31_622_400.0)),
        FieldSpec::req("state", Code(PatrolState::CODES)),
    ],
    photos: false,
    commands: &[],
    search: &[],
};

pub static CHECKIN: EntitySpec = EntitySpec {
    entity: Entity::Checkin,
    table: "checkin",
    key: "id",
    flow: Flow::Upward,
    scope: ScopeRule::Uploader,
    fields: &[
        FieldSpec::opt("patrol_id", Ref(Entity::Patrol)),
        grid_id(),
        FieldSpec::def("place", Text(LINE)),
        FieldSpec::def("inside_grid", Code(Inside::CODES)),
        POSITION,
        DEVICE_TIME,
        CORRECTED_TIME,
    ],
    photos: true,
    commands: &[],
    search: &[],
};

pub static TRACK_SEGMENT: EntitySpec = EntitySpec {
    entity: Entity::TrackSegment,
    table: "track_segment",
    key: "id",
    flow: Flow::Upward,
    scope: ScopeRule::Uploader,
    fields: &[
        FieldSpec::req("patrol_id", Ref(Entity::Patrol)),
        FieldSpec::req("seq", Int(0, 1_000_000)),
        FieldSpec::req("start_time", Time),
        FieldSpec::req("end_time", Time),
        FieldSpec::req("n_points", Int(0, 1_000_000)),
        FieldSpec::def("gap_before", Flag),
        FieldSpec::req("points", Hex(4 << 20)),
    ],
    photos: false,
    commands: &[],
    search: &[],
};

pub static NOTICE: EntitySpec = EntitySpec {
    entity: Entity::Notice,
    table: "notice",
    key: "id",
    flow: Flow::Central,
    scope: ScopeRule::Notices,
    fields: &[
        FieldSpec::req("title", Name(LINE)).by(Centre),
        FieldSpec::req("body", Text(20_000)).by(Centre),
        FieldSpec::req("published_at", Time).by(Centre),
        FieldSpec::def("area", Text(SHORT)).by(Centre),
        // The device's read receipt, kept per device at the hub.
        FieldSpec::opt("read_at", Time).by(Device),
    ],
    photos: false,
    commands: &[],
    search: &[],
};

pub static PHOTO: EntitySpec = EntitySpec {
    entity: Entity::Photo,
    table: "photo",
    key: "sha256",
    flow: Flow::Upward,
    scope: ScopeRule::Uploader,
    fields: &[
        FieldSpec::req("bytes", Int(1, 64 << 20)),
        FieldSpec::req("mime", Code(&["image/jpeg", "image/png"])),
        FieldSpec::opt("width", Int(1, 20_000)),
        FieldSpec::opt("height", Int(1, 20_000)),
        FieldSpec::opt("taken_at", Time),
        FieldSpec::def("state", Code(PhotoState::CODES)).by(Device),
    ],
    photos: false,
    commands: &[],
    search: &[],
};
