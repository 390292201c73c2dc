//! Language-neutral formatting of store values for the screens (times in Beijing time,
//! colours as codes). Words are translated in the .slint files, never here.

use chrono::{DateTime, Duration, Utc};
use gridpad_core::model::{DeadlineColour, Position, PositionSource};

/// `11-20 16:00`, Beijing time (UTC+8), the way grid workers read deadlines.
pub fn beijing(t: DateTime<Utc>) -> String {
    (t + Duration::hours(8)).format("%m-%d %H:%M").to_string()
}

/// [`beijing`] for an RFC 3339 string from the store; the text itself if it does not parse.
pub fn beijing_str(s: &str) -> String {
    DateTime::parse_from_rfc3339(s)
        .map(|t| beijing(t.with_timezone(&Utc)))
        .unwrap_or_else(|_| s.to_string())
}

pub fn beijing_opt(s: Option<&str>) -> String {
    s.map(beijing_str).unwrap_or_default()
}

pub fn colour(c: Option<DeadlineColour>) -> &'static str {
    c.map(|c| c.as_str()).unwrap_or("")
}

/// `29.94930, 121.71310 ±4 m`.
pub fn position(p: &Position) -> String {
    match (p.source, p.lat, p.lon) {
        (PositionSource::None, _, _) | (_, None, _) | (_, _, None) => String::new(),
        (_, Some(lat), Some(lon)) => {
            let mut s = format!("{lat:.5}, {lon:.5}");
            if let Some(a) = p.accuracy_m {
                s.push_str(&format!(" ±{} m", a.round() as i64));
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn beijing_time_is_utc_plus_eight() {
        let t = Utc.with_ymd_and_hms(2026, 11, 20, 16, 30, 0).unwrap();
        assert_eq!(beijing(t), "11-21 00:30");
        assert_eq!(beijing_str("2026-11-20T08:00:00.000Z"), "11-20 16:00");
        assert_eq!(beijing_str("garbage"), "garbage");
    }

    #[test]
    fn positions_show_accuracy() {
        let p = Position::manual(29.9493, 121.7131, Some(4.4));
        assert_eq!(position(&p), "29.94930, 121.71310 ±4 m");
        assert_eq!(position(&Position::none()), "");
    }
}
