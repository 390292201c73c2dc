//! `gridpad report`: an event, offline, with photo evidence (`--photo FILE`: intake with
//! the category's policy, 水印 watermark, encrypted vault), sealed into the device's hash
//! chain. It waits in the outbox until sync.

use super::{beijing, print_json, take_photos, Ctx};
use anyhow::{anyhow, Result};
use gridpad_core::model::Position;
use gridpad_core::NewReport;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Catalog subcategory code (see `gridpad catalog`).
    #[arg(long)]
    category: String,
    #[arg(long)]
    description: String,
    #[arg(long, default_value = "")]
    address: String,
    /// A field of the category, `key=value` (repeatable).
    #[arg(long = "field", value_parser = parse_kv)]
    fields: Vec<(String, serde_json::Value)>,
    #[arg(long, requires = "lon")]
    lat: Option<f64>,
    #[arg(long, requires = "lat")]
    lon: Option<f64>,
    /// 95 % accuracy of a typed position, metres.
    #[arg(long)]
    accuracy: Option<f64>,
    /// Handled on the spot (自行处置).
    #[arg(long)]
    on_the_spot: bool,
    #[arg(long, env = "GRIDPAD_USER", default_value = "网格员")]
    reporter: String,
    /// A photo (JPEG/PNG) as evidence, repeatable: processed to the category's photo
    /// policy, stamped (time, position, grid, reporter), stored encrypted.
    #[arg(long = "photo")]
    photos: Vec<PathBuf>,
    #[arg(long)]
    json: bool,
}

fn parse_kv(s: &str) -> Result<(String, serde_json::Value), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected key=value, got {s:?}"))?;
    let value = serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.into()));
    Ok((k.to_string(), value))
}

pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let mut store = ctx.open()?;
    let position = match (a.lat, a.lon) {
        (Some(lat), Some(lon)) => Some(Position::manual(lat, lon, a.accuracy)),
        _ => None,
    };
    let photos = take_photos(
        &mut store,
        &a.photos,
        &a.category,
        position.as_ref(),
        &a.reporter,
    )?;
    let id = store.report_event(NewReport {
        photos,
        category_code: a.category.clone(),
        description: a.description.clone(),
        address_text: a.address.clone(),
        fields: a.fields.iter().cloned().collect(),
        position,
        handled_on_spot: a.on_the_spot,
        reporter: a.reporter.clone(),
        ..Default::default()
    })?;
    // Sealed into the device's hash chain, signed with the device key.
    gridpad_photo::seal_event(&mut store, &id)?;
    let ev = store
        .event(&id)?
        .ok_or_else(|| anyhow!("the report vanished"))?;
    if a.json {
        return print_json(&ev);
    }
    println!(
        "reported {} ({}), due {}; waiting in the outbox ({} pending)",
        ev.id,
        ev.status,
        ev.deadline_at.map(beijing).unwrap_or_else(|| "-".into()),
        store.outbox_len()?
    );
    Ok(())
}
