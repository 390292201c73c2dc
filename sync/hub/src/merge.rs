//! The one merge of a write into a record: per field, the newest hybrid-clock timestamp
//! wins. Central edits and device edits go through it alike.

use gridhub_store::Row;
use gridpad_proto::wire::Conflict;
use gridpad_proto::{Fields, Hlc};
use serde_json::Value;

/// What a merge came to.
#[derive(Debug, Default)]
pub struct Merged {
    /// The fields the write won (to append to the change log).
    pub won: Fields,
    /// The fields it lost, with the value that beat it.
    pub lost: Vec<Conflict>,
    /// The fields it won over an earlier value: (field, the earlier value, its clock).
    pub replaced: Vec<(String, Value, Hlc)>,
}

/// Merge `fields` written at `hlc` into `row`. A field whose stored clock is newer or equal
/// keeps its value (so a write applied twice changes nothing the second time).
pub fn merge(row: &mut Row, fields: &Fields, hlc: &Hlc) -> Merged {
    let mut out = Merged::default();
    for (k, v) in fields {
        match row.field_hlc.get(k) {
            Some(h) if h >= hlc => out.lost.push(Conflict {
                field: k.clone(),
                device_lost: true,
                other_value: row.fields.get(k).cloned().unwrap_or(Value::Null),
                other_hlc: h.clone(),
                other_by: h.node.clone(),
            }),
            earlier => {
                if let Some(h) = earlier {
                    let old = row.fields.get(k).cloned().unwrap_or(Value::Null);
                    if old != *v {
                        out.replaced.push((k.clone(), old, h.clone()));
                    }
                }
                row.fields.insert(k.clone(), v.clone());
                row.field_hlc.insert(k.clone(), hlc.clone());
                out.won.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridhub_store::Scope;
    use gridpad_proto::Entity;
    use serde_json::json;

    #[test]
    fn newer_fields_win_and_older_ones_are_reported_lost() {
        let mut row = Row::new(Entity::Person, "p", Scope::Grid("g".into()));
        let f = |v: Value| -> Fields { v.as_object().unwrap().clone().into_iter().collect() };
        let m = merge(
            &mut row,
            &f(json!({"name": "王芳", "note": "a"})),
            &Hlc::new(10, 0, "d1"),
        );
        assert_eq!(m.won.len(), 2);
        let m = merge(
            &mut row,
            &f(json!({"name": "王方", "phone": "13812345678"})),
            &Hlc::new(5, 0, "d2"),
        );
        assert_eq!(m.won.keys().collect::<Vec<_>>(), vec!["phone"]);
        assert_eq!(m.lost.len(), 1);
        assert_eq!(m.lost[0].other_value, json!("王芳"));
        assert_eq!(m.lost[0].other_by, "d1");
        let m = merge(
            &mut row,
            &f(json!({"name": "王方"})),
            &Hlc::new(10, 0, "d1"),
        );
        assert!(m.won.is_empty(), "a tie keeps what the hub has");
        assert_eq!(row.fields["name"], json!("王芳"));
    }
}
