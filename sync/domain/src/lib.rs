//! Gridpad's domain, shared by the device, the hub and the wire: one home for what each
//! synced record is.
//!
//! - [`Entity`] and [`Fields`]: the kinds of record and their values;
//! - [`spec`]: one [`spec::EntitySpec`] per entity — fields and kinds, which side writes
//!   which field, how it flows, its scope rule, commands, search fields — and the one check
//!   of a write ([`spec::check`]) that the device store and the hub both run;
//! - [`Scope`]: who may read a record (`grid:<id>`, `catalog`, `notices`, `device:<id>`,
//!   `up:<id>`), as a type;
//! - [`codes`]: the code lists (sex, house use …), the event and task lifecycles, deadline
//!   colours and positions;
//! - [`checks`]: identity numbers, credit codes, phones;
//! - [`worktime`]: working hours, holidays and 调休 days; deadlines and colours in working time.
//!
//! No I/O, no SQL: the device store (gridpad-core) and the hub (gridhub) each keep their
//! own storage.

pub mod catalog;
pub mod checks;
pub mod codes;
pub mod entity;
pub mod scope;
pub mod spec;
pub mod specs;
pub mod worktime;

pub use entity::{Entity, Fields, UnknownEntity};
pub use scope::{Scope, UnknownScope};
pub use spec::{check, spec, Change, EntitySpec, FieldProblem, Flow, Problems, Side};
