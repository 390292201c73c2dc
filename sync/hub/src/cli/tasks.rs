//! `gridhub admin tasks`: tasks and their state.

use anyhow::Result;
use gridhub::Hub;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    json: bool,
}

pub fn run(hub: &Hub, a: Args) -> Result<()> {
    let rows = hub.tasks(&gridhub::authz::Principal::cli(), 1_000)?;
    if a.json {
        let out: Vec<_> = rows
            .iter()
            .map(|r| serde_json::json!({"id": r.row_id, "fields": r.fields}))
            .collect();
        return super::print_json(&out);
    }
    for r in rows {
        let f = |k: &str| {
            r.fields
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("-")
                .to_string()
        };
        println!("{}\t{}\t{}", r.row_id, f("status"), f("title"));
    }
    Ok(())
}
