use super::*;
use DeadlineColour::*;

/// An instant given in China Standard Time.
fn cst(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
    instant(date, h * 3600 + mi * 60)
}

/// The shipped calendar plus a 2027 of weekends and 元旦 only (the day the law fixes) — a
/// test fixture standing in for the State Council's 2027 schedule, to cross the year's end.
fn with_2027() -> WorkCalendar {
    let mut c = WorkCalendar::shipped();
    c.insert(YearCalendar::parse("year 2027\noff 2027-01-01 元旦\n").unwrap());
    c
}

#[test]
fn the_shipped_2026_follows_the_state_councils_schedule() {
    let c = WorkCalendar::shipped();
    assert_eq!(c.years(), vec![2026]);
    let y = &c.years[&2026];
    assert_eq!((y.off.len(), y.work.len()), (33, 6));
    assert_eq!(y.hours, DEFAULT_HOURS);
    let day = |m, d| c.is_working_day(NaiveDate::from_ymd_opt(2026, m, d).unwrap());
    assert_eq!(day(10, 1), Ok(false), "国庆 on a Thursday");
    assert_eq!(day(10, 10), Ok(true), "国庆调休 Saturday");
    assert_eq!(day(9, 20), Ok(true), "国庆调休 Sunday");
    assert_eq!(day(2, 14), Ok(true), "春节调休 Saturday");
    assert_eq!(day(2, 23), Ok(false), "春节, a Monday");
    assert_eq!(day(11, 21), Ok(false), "an ordinary Saturday");
    assert_eq!(day(11, 23), Ok(true), "an ordinary Monday");
}

#[test]
fn deadlines_in_working_time_land_where_a_person_counts_them() {
    let c = with_2027();
    let wh = Deadline::working_hours;
    let wd = Deadline::working_days;
    #[rustfmt::skip]
    let cases: &[(&str, DateTime<Utc>, Deadline, DateTime<Utc>)] = &[
        ("across a weekend: Fri 16:00 + 4 h",
            cst(2026, 11, 20, 16, 0), wh(4), cst(2026, 11, 23, 11, 0)),
        ("across 国庆: Wed 30 Sep 15:00 + 4 h",
            cst(2026, 9, 30, 15, 0), wh(4), cst(2026, 10, 8, 10, 0)),
        ("onto the 调休 Saturday 10 Oct",
            cst(2026, 10, 9, 16, 0), wh(3), cst(2026, 10, 10, 10, 0)),
        ("from a Saturday off onto the 调休 Sunday 20 Sep",
            cst(2026, 9, 19, 10, 0), wh(1), cst(2026, 9, 20, 9, 30)),
        ("outside working hours, in the evening",
            cst(2026, 11, 17, 20, 0), wh(2), cst(2026, 11, 18, 10, 30)),
        ("outside working hours, before the office opens",
            cst(2026, 11, 17, 6, 0), wh(1), cst(2026, 11, 17, 9, 30)),
        ("in the lunch break",
            cst(2026, 11, 17, 12, 30), wh(1), cst(2026, 11, 17, 15, 0)),
        ("over the lunch break",
            cst(2026, 11, 17, 11, 0), wh(2), cst(2026, 11, 17, 15, 0)),
        ("running out at noon stays at noon",
            cst(2026, 11, 17, 11, 0), wh(1), cst(2026, 11, 17, 12, 0)),
        ("end of the year: 31 Dec 16:00 + 3 h",
            cst(2026, 12, 31, 16, 0), wh(3), cst(2027, 1, 4, 10, 0)),
        ("2 working days from the eve of 国庆",
            cst(2026, 9, 30, 10, 0), wd(2), cst(2026, 10, 9, 17, 30)),
        ("1 working day onto the 调休 Saturday",
            cst(2026, 10, 9, 10, 0), wd(1), cst(2026, 10, 10, 17, 30)),
        ("3 working days from a Saturday",
            cst(2026, 11, 21, 10, 0), wd(3), cst(2026, 11, 25, 17, 30)),
        ("2 working days over 春节 (with its 调休 Saturday)",
            cst(2026, 2, 13, 10, 0), wd(2), cst(2026, 2, 24, 17, 30)),
        ("clock hours ignore the calendar",
            cst(2026, 10, 1, 10, 0), Deadline::hours(4), cst(2026, 10, 1, 14, 0)),
    ];
    for (what, start, d, want) in cases {
        assert_eq!(c.due(*start, *d), Ok(*want), "{what}");
    }
}

#[test]
fn working_time_between_two_instants_leaves_out_nights_lunches_and_holidays() {
    let c = with_2027();
    #[rustfmt::skip]
    let cases: &[(&str, DateTime<Utc>, DateTime<Utc>, u64)] = &[
        ("a weekend", cst(2026, 11, 20, 16, 0), cst(2026, 11, 23, 11, 0), 4 * 3600),
        ("a lunch break", cst(2026, 11, 17, 12, 10), cst(2026, 11, 17, 13, 50), 0),
        ("国庆", cst(2026, 9, 30, 17, 0), cst(2026, 10, 8, 9, 0), 3600),
        ("a 调休 Saturday", cst(2026, 10, 10, 8, 0), cst(2026, 10, 10, 20, 0), 7 * 3600),
        ("the new year", cst(2026, 12, 31, 17, 0), cst(2027, 1, 4, 9, 30), 5400),
        ("backwards", cst(2026, 11, 23, 11, 0), cst(2026, 11, 20, 16, 0), 0),
    ];
    for (what, a, b, want) in cases {
        assert_eq!(c.working_secs_between(*a, *b), Ok(*want), "{what}");
    }
}

#[test]
fn colours_follow_the_share_of_working_time_used() {
    let c = WorkCalendar::shipped();
    // 4 working hours from Friday 16:00: due Monday 11:00; yellow at 50 %, red at 80 %.
    let (start, due) = (cst(2026, 11, 20, 16, 0), cst(2026, 11, 23, 11, 0));
    let unit = DeadlineUnit::WorkingHours;
    #[rustfmt::skip]
    let cases = [
        ("Friday 17:00, 1 of 4 h", cst(2026, 11, 20, 17, 0), Green),
        ("Sunday night: the weekend uses nothing", cst(2026, 11, 22, 23, 0), Green),
        ("Monday 09:30, 2.5 of 4 h", cst(2026, 11, 23, 9, 30), Yellow),
        ("Monday 10:30, 3.5 of 4 h", cst(2026, 11, 23, 10, 30), Red),
        ("Monday 11:00, due", cst(2026, 11, 23, 11, 0), Overdue),
    ];
    for (what, now, want) in cases {
        assert_eq!(c.colour(unit, start, due, now, 50, 80), Ok(want), "{what}");
    }
    // The same instants on the clock: Sunday night is already red.
    let night = cst(2026, 11, 22, 23, 0);
    assert_eq!(
        c.colour(DeadlineUnit::Hours, start, due, night, 50, 80),
        Ok(Red)
    );
}

#[test]
fn a_year_not_in_the_calendar_is_an_error_that_names_it() {
    let c = WorkCalendar::shipped();
    let e = c
        .due(cst(2026, 12, 31, 16, 0), Deadline::working_hours(3))
        .unwrap_err();
    assert_eq!(e, CalendarError::UnknownYear(2027));
    assert!(e.to_string().contains("no year 2027"), "{e}");
    assert_eq!(
        c.due(cst(2025, 6, 2, 9, 0), Deadline::working_days(1)),
        Err(CalendarError::UnknownYear(2025))
    );
    // Clock hours need no calendar.
    assert!(c.due(cst(2030, 1, 1, 0, 0), Deadline::hours(2)).is_ok());
    // A colour across the unknown year says it fell back to the clock.
    let (start, due) = (cst(2026, 12, 31, 9, 0), cst(2027, 1, 5, 9, 0));
    let now = cst(2027, 1, 4, 9, 0);
    assert!(c
        .colour(DeadlineUnit::WorkingDays, start, due, now, 50, 80)
        .is_err());
    assert_eq!(
        c.colour_or_clock(DeadlineUnit::WorkingDays, start, due, now, 50, 80),
        (Red, false)
    );
}

#[test]
fn a_year_file_with_a_mistake_is_refused_naming_its_line() {
    let bad = [
        ("year 2026\nof 2026-01-01 元旦\n", 2),
        ("off 2026-01-01\n", 1),
        ("year 2026\noff 2027-01-01\n", 2),
        ("year 2026\noff 2026-02-30\n", 2),
        ("year 2026\nhours 14:00-12:00\n", 2),
        ("year 2026\nhours 08:00-12:00 11:00-13:00\n", 2),
        ("# nothing\n", 0),
        ("year 2026\noff 2026-01-05\nwork 2026-01-05\n", 0),
    ];
    for (text, line) in bad {
        match YearCalendar::parse(text) {
            Err(CalendarError::Bad { line: l, .. }) => assert_eq!(l, line, "{text}"),
            other => panic!("{text}: {other:?}"),
        }
    }
    let y = YearCalendar::parse("year 2030\nhours 09:00-17:00 # one block\n").unwrap();
    assert_eq!(y.hours, vec![(9 * 3600, 17 * 3600)]);
}
