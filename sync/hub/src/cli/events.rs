//! `gridhub admin events`: reports with their evidence.

use anyhow::Result;
use gridhub::Hub;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 100)]
    limit: usize,
    #[arg(long)]
    json: bool,
}

pub fn run(hub: &Hub, a: Args) -> Result<()> {
    let events = hub.events_with_evidence(&gridhub::authz::Principal::cli(), a.limit)?;
    if a.json {
        // With each report's evidence: photos received, complete, seal verdict.
        return super::print_json(&events);
    }
    for e in events {
        let f = |k: &str| {
            e.fields
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("-")
                .to_string()
        };
        let ev = &e.evidence;
        let seal = if ev.seal_flags.is_empty() {
            "sealed".to_string()
        } else {
            format!("seal: {}", serde_json::json!(ev.seal_flags))
        };
        println!(
            "{}\t{}\t{}\t{}\tphotos {}/{}{}\t{seal}",
            e.id,
            f("status"),
            f("category_code"),
            f("description"),
            ev.photos_received,
            ev.photos_expected,
            if ev.complete { "" } else { " (incomplete)" },
        );
    }
    Ok(())
}
