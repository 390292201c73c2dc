//! Sync: waiting items, rejected items with reasons, conflict notices, "sync now".
use super::Ctx;
use crate::format::{beijing_opt, beijing_str};
use crate::services::SyncStatus;
use crate::{AppWindow, Screen, SyncAdapter, SyncInfo, SyncRow};
use slint::{ComponentHandle, ModelRc, VecModel};
use std::rc::Rc;

pub const SHOWN: usize = 50;

/// The sync card of home and the sync screen: the store's counts and the service's state.
pub fn info(h: &gridpad_core::queries::SyncHealth, status: &SyncStatus) -> SyncInfo {
    SyncInfo {
        pending: h.pending as i32,
        rejected: h.rejected as i32,
        conflicts: h.conflicts as i32,
        last_sync: beijing_opt(h.last_sync.as_deref()).into(),
        online: status.online,
        running: status.running,
        enrolled: status.enrolled,
        error: status.error.clone().unwrap_or_default().into(),
        download_done: status.downloaded.min(i32::MAX as u64) as i32,
        download_total: status.download_total.min(i32::MAX as u64) as i32,
        photos_waiting: h.photos_waiting as i32,
        photo_mb_waiting: h.photo_bytes_waiting as f32 / 1_048_576.0,
        photo_index: status.photo.as_ref().map_or(0, |p| p.index as i32),
        photo_count: status.photo.as_ref().map_or(0, |p| p.count as i32),
        photo_kb_done: status
            .photo
            .as_ref()
            .map_or(0, |p| (p.at_hub / 1024) as i32),
        photo_kb_total: status.photo.as_ref().map_or(0, |p| (p.bytes / 1024) as i32),
    }
}

pub fn load(ui: &AppWindow, ctx: &Rc<Ctx>) {
    let weak = ui.as_weak();
    let status = ctx.services.sync.status();
    ctx.exec.run(
        |s| {
            let q = s.queries();
            Ok((
                q.sync_health()?,
                q.waiting(SHOWN)?,
                q.rejected(SHOWN)?,
                q.conflicts(SHOWN)?,
            ))
        },
        move |r| {
            let (Some(ui), Ok((h, waiting, rejected, conflicts))) = (weak.upgrade(), r) else {
                return;
            };
            let a = ui.global::<SyncAdapter>();
            a.set_info(info(&h, &status));
            let rows = |v: Vec<SyncRow>| ModelRc::new(VecModel::from(v));
            a.set_waiting(rows(
                waiting
                    .into_iter()
                    .map(|w| SyncRow {
                        id: w.seq.to_string().into(),
                        what: w.entity.into(),
                        title: w.title.into(),
                        at: beijing_str(&w.created_at).into(),
                        ..Default::default()
                    })
                    .collect(),
            ));
            a.set_rejected(rows(
                rejected
                    .into_iter()
                    .map(|d| SyncRow {
                        id: d.seq.to_string().into(),
                        what: d.entity.into(),
                        title: d.title.into(),
                        reason: d.reason.into(),
                        detail: d.detail.into(),
                        at: beijing_str(&d.at).into(),
                    })
                    .collect(),
            ));
            a.set_conflicts(rows(
                conflicts
                    .into_iter()
                    .map(|c| SyncRow {
                        id: c.id.to_string().into(),
                        what: c.entity.into(),
                        title: format!("{} · {}", c.title, c.field).into(),
                        reason: c.winning_value.unwrap_or_default().into(),
                        detail: c.winner.into(),
                        at: beijing_str(&c.at).into(),
                    })
                    .collect(),
            ));
        },
    );
}

pub fn setup(ui: &AppWindow, ctx: &Rc<Ctx>) {
    let a = ui.global::<SyncAdapter>();
    let c = ctx.clone();
    a.on_sync_now(move || {
        c.services.sync.sync_now();
        if let Some(ui) = c.ui() {
            ui.global::<SyncAdapter>().set_message("requested".into());
            load(&ui, &c);
        }
    });
    a.on_open_rejected(|_| {});
    ctx.when_shown(Screen::Sync, {
        let c = ctx.clone();
        move |ui| {
            ui.global::<SyncAdapter>().set_message("".into());
            load(ui, &c)
        }
    });
}
