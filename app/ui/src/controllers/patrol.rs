//! Patrol: start/stop, live duration, distance and time inside the grid, in-grid indicator
//! from GNSS, check-ins. Stopping stores the track and the totals in one transaction.
use super::home::gnss_info;
use super::Ctx;
use crate::format::beijing_str;
use crate::gnss::grid_polygon;
use crate::{AppWindow, KeyValue, PatrolAdapter, Screen};
use chrono::{DateTime, Utc};
use gridpad_core::model::Inside;
use gridpad_core::NewTrackSegment;
use gridpad_gnss::track::{encode_segment, Track};
use slint::{ComponentHandle, ModelRc, VecModel};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

#[derive(Default)]
struct State {
    id: Option<String>,
    /// The grid the running patrol is in.
    grid_id: Option<String>,
    started: Option<DateTime<Utc>>,
    /// Distance already stored for this patrol (before a restart of the app).
    stored_m: f64,
}

/// "850 m", "2.45 km".
pub fn distance(m: f64) -> String {
    if m < 1000.0 {
        format!("{:.0} m", m.max(0.0))
    } else {
        format!("{:.2} km", m / 1000.0)
    }
}

fn hms(secs: i64) -> String {
    let s = secs.max(0);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn load(ui: &AppWindow, ctx: &Rc<Ctx>, st: &Rc<RefCell<State>>) {
    let a = ui.global::<PatrolAdapter>();
    a.set_gnss(gnss_info(ctx.services.gnss.as_ref()));
    let weak = ui.as_weak();
    let (st, c) = (st.clone(), ctx.clone());
    ctx.exec.run(
        |s| {
            let p = s.queries().active_patrol()?;
            // The running patrol's grid, else the device's: its boundary is the geofence.
            let grid = match &p {
                Some(p) => s.grid(&p.grid_id)?,
                None => s.home_grid()?,
            };
            Ok((p, grid.as_ref().and_then(grid_polygon)))
        },
        move |r| {
            let (Some(ui), Ok((p, fence))) = (weak.upgrade(), r) else {
                return;
            };
            c.services.gnss.set_grid(fence);
            let a = ui.global::<PatrolAdapter>();
            let mut s = st.borrow_mut();
            match p {
                Some(p) => {
                    s.id = Some(p.id);
                    s.grid_id = Some(p.grid_id);
                    s.stored_m = p.distance_m;
                    // Record the track while on patrol (again after a restart).
                    c.services.gnss.start_track();
                    s.started = DateTime::parse_from_rfc3339(&p.started_at)
                        .ok()
                        .map(|t| t.with_timezone(&Utc));
                    a.set_active(true);
                    a.set_distance(
                        distance(p.distance_m + c.services.gnss.track_distance_m()).into(),
                    );
                    a.set_checkins(ModelRc::new(VecModel::from(
                        p.checkins
                            .iter()
                            .map(|(t, place)| KeyValue {
                                key: beijing_str(t).chars().skip(6).collect::<String>().into(),
                                value: place.as_str().into(),
                            })
                            .collect::<Vec<_>>(),
                    )));
                }
                None => {
                    *s = State::default();
                    a.set_active(false);
                    a.set_checkins(ModelRc::default());
                }
            }
            tick(&ui, &c, &s);
        },
    );
}

fn tick(ui: &AppWindow, ctx: &Ctx, s: &State) {
    let a = ui.global::<PatrolAdapter>();
    if let Some(t) = s.started {
        a.set_duration(hms((ctx.services.clock.now() - t).num_seconds()).into());
        a.set_distance(distance(s.stored_m + ctx.services.gnss.track_distance_m()).into());
        let (inside, near) = match ctx.services.gnss.track_grid_time() {
            Some(g) => (
                hms(g.inside_s as i64),
                if g.uncertain_s >= 1.0 {
                    hms(g.uncertain_s as i64)
                } else {
                    String::new()
                },
            ),
            None => (String::new(), String::new()),
        };
        a.set_in_grid_time(inside.into());
        a.set_near_boundary_time(near.into());
    }
    a.set_gnss(gnss_info(ctx.services.gnss.as_ref()));
}

pub fn setup(ui: &AppWindow, ctx: &Rc<Ctx>) -> Vec<slint::Timer> {
    let st = Rc::new(RefCell::new(State::default()));
    let a = ui.global::<PatrolAdapter>();
    ctx.when_shown(Screen::Patrol, {
        let (c, st) = (ctx.clone(), st.clone());
        move |ui| {
            ui.global::<PatrolAdapter>().set_message("".into());
            load(ui, &c, &st)
        }
    });
    let (c, s2) = (ctx.clone(), st.clone());
    a.on_start(move || {
        let (c2, s3) = (c.clone(), s2.clone());
        c.services.gnss.start_track();
        c.exec.run(
            |s| s.start_patrol(),
            move |r| {
                if let (Some(ui), Ok(_)) = (c2.ui(), r) {
                    c2.wrote();
                    load(&ui, &c2, &s3);
                }
            },
        );
    });
    let (c, s2) = (ctx.clone(), st.clone());
    a.on_stop(move || {
        let Some(id) = s2.borrow().id.clone() else {
            return;
        };
        let (c2, s3) = (c.clone(), s2.clone());
        let (stored_m, grid_id) = {
            let s = s2.borrow();
            (s.stored_m, s.grid_id.clone())
        };
        // The recording goes on until the track is stored: a failed stop loses nothing.
        let track = c.services.gnss.current_track();
        c.exec.run(
            move |s| stop(s, &id, grid_id.as_deref(), stored_m, track.as_ref()),
            move |r| {
                match &r {
                    Ok(()) => {
                        c2.services.gnss.end_track();
                        c2.wrote();
                    }
                    Err(e) => {
                        if let Some(ui) = c2.ui() {
                            ui.global::<PatrolAdapter>()
                                .set_message(e.to_string().into());
                        }
                    }
                }
                if let Some(ui) = c2.ui() {
                    load(&ui, &c2, &s3);
                }
            },
        );
    });
    let (c, s2) = (ctx.clone(), st.clone());
    a.on_checkin(move |place| {
        let id = s2.borrow().id.clone();
        let g = c.services.gnss.status();
        let inside = g.inside.unwrap_or(Inside::Uncertain);
        let position = g.position();
        let place = place.to_string();
        let (c2, s3) = (c.clone(), s2.clone());
        c.exec.run(
            move |s| s.checkin(id.as_deref(), &place, inside, position),
            move |r| {
                let Some(ui) = c2.ui() else { return };
                let a = ui.global::<PatrolAdapter>();
                match r {
                    Ok(_) => {
                        c2.wrote();
                        a.set_place("".into());
                        load(&ui, &c2, &s3);
                        ui.global::<PatrolAdapter>()
                            .set_message("checked-in".into());
                    }
                    Err(e) => a.set_message(e.to_string().into()),
                }
            },
        );
    });
    let timer = slint::Timer::default();
    let (c, s2) = (ctx.clone(), st);
    timer.start(
        slint::TimerMode::Repeated,
        Duration::from_secs(1),
        move || {
            if let Some(ui) = c.ui() {
                if ui.global::<crate::Nav>().get_current() == Screen::Patrol {
                    tick(&ui, &c, &s2.borrow());
                }
            }
        },
    );
    vec![timer]
}

/// The track as the store keeps it: one compactly encoded segment per run of fixes, a gap
/// before every segment but the first.
fn store_segments(track: &Track) -> Vec<NewTrackSegment> {
    let ms = |t: i64| DateTime::from_timestamp_millis(t).unwrap_or_default();
    track
        .segments
        .iter()
        .filter_map(|seg| Some((seg.first()?, seg.last()?, seg)))
        .enumerate()
        .map(|(i, (first, last, seg))| NewTrackSegment {
            start: ms(first.time_ms),
            end: ms(last.time_ms),
            n_points: seg.len() as i64,
            gap_before: i > 0,
            points: encode_segment(seg),
        })
        .collect()
}

/// Stop the patrol: its track segments, the distance walked and the time inside its grid's
/// boundary (`Track::grid_time`: certain time only; gaps and time near the boundary do not
/// count), all in one transaction.
fn stop(
    s: &mut gridpad_core::Store,
    id: &str,
    grid_id: Option<&str>,
    stored_m: f64,
    track: Option<&Track>,
) -> Result<(), gridpad_core::Error> {
    let fence = match grid_id {
        Some(g) => s.grid(g)?.as_ref().and_then(grid_polygon),
        None => None,
    };
    let (segments, walked, inside_s) = match track {
        Some(t) => (
            store_segments(t),
            t.mileage_m(),
            fence.as_ref().map_or(0.0, |f| t.grid_time(f).inside_s),
        ),
        None => (vec![], 0.0, 0.0),
    };
    s.stop_patrol(id, &segments, stored_m + walked, inside_s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_as_clock_time() {
        assert_eq!(super::hms(3725), "01:02:05");
        assert_eq!(super::hms(-4), "00:00:00");
    }
}
