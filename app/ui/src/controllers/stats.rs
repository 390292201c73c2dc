//! Statistics: reports by category (bars) and status (pie), tasks on time, visits.
use super::Ctx;
use crate::{AppWindow, Bar, Screen, Slice, StatsAdapter};
use chrono::{Datelike, Duration, TimeZone, Utc};
use slint::{Color, ComponentHandle, ModelRc, VecModel};
use std::rc::Rc;

const PALETTE: [u32; 6] = [0x1760c4, 0xe0a100, 0x2e7d32, 0xd32f2f, 0x6a1b9a, 0x00838f];

/// Pie slices (start angle, sweep) in degrees from counts.
pub fn slices(counts: &[(String, i64)]) -> Vec<Slice> {
    let total: i64 = counts.iter().map(|c| c.1).sum();
    let mut start = 0.0f32;
    counts
        .iter()
        .enumerate()
        .map(|(i, (label, n))| {
            let sweep = if total > 0 {
                *n as f32 * 360.0 / total as f32
            } else {
                0.0
            };
            let s = Slice {
                label: label.as_str().into(),
                value: *n as i32,
                colour: Color::from_rgb_u8(
                    (PALETTE[i % 6] >> 16) as u8,
                    (PALETTE[i % 6] >> 8) as u8,
                    PALETTE[i % 6] as u8,
                ),
                start,
                sweep,
            };
            start += sweep;
            s
        })
        .collect()
}

pub fn setup(_ui: &AppWindow, ctx: &Rc<Ctx>) {
    ctx.when_shown(Screen::Stats, {
        let c = ctx.clone();
        move |ui| {
            // This month in Beijing time.
            let bj = c.services.clock.now() + Duration::hours(8);
            let month = format!("{:04}-{:02}", bj.year(), bj.month());
            let since = Utc
                .with_ymd_and_hms(bj.year(), bj.month(), 1, 0, 0, 0)
                .single()
                .map(|t| t - Duration::hours(8))
                .map(gridpad_core::store::rfc3339)
                .unwrap_or_default();
            let weak = ui.as_weak();
            c.exec.run(
                move |s| s.queries().stats(&since),
                move |r| {
                    let (Some(ui), Ok(st)) = (weak.upgrade(), r) else {
                        return;
                    };
                    let a = ui.global::<StatsAdapter>();
                    let blue = Color::from_rgb_u8(0x17, 0x60, 0xc4);
                    a.set_max_category(st.by_category.iter().map(|c| c.1).max().unwrap_or(0) as i32);
                    a.set_by_category(ModelRc::new(VecModel::from(
                        st.by_category
                            .iter()
                            .map(|(l, n)| Bar {
                                label: l.as_str().into(),
                                value: *n as i32,
                                colour: blue,
                            })
                            .collect::<Vec<_>>(),
                    )));
                    a.set_by_status(ModelRc::new(VecModel::from(slices(&st.by_status))));
                    a.set_tasks_on_time(st.tasks_on_time as i32);
                    a.set_tasks_overdue(st.tasks_overdue as i32);
                    a.set_visits_month(st.visits_since as i32);
                    a.set_month(month.into());
                },
            );
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn slices_cover_the_circle() {
        let s = super::slices(&[("a".into(), 1), ("b".into(), 3)]);
        assert_eq!(s[0].sweep, 90.0);
        assert_eq!(s[1].start, 90.0);
        assert_eq!(s[1].sweep, 270.0);
        assert!(super::slices(&[]).is_empty());
    }
}
