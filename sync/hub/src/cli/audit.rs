//! `gridhub admin audit`: search the audit log, export it as CSV, or verify its chain.

use anyhow::{bail, Context, Result};
use gridhub::audit::AuditQuery;
use gridhub::Hub;

#[derive(clap::Args)]
pub struct Args {
    /// Check the whole hash chain instead of listing.
    #[arg(long)]
    verify: bool,
    /// From this day on (YYYY-MM-DD, Beijing time).
    #[arg(long)]
    since: Option<String>,
    /// An account id or username.
    #[arg(long)]
    actor: Option<String>,
    /// An action or its prefix (e.g. `event.`).
    #[arg(long)]
    action: Option<String>,
    #[arg(long)]
    target: Option<String>,
    #[arg(long, default_value_t = 1_000)]
    limit: usize,
    #[arg(long)]
    csv: bool,
    #[arg(long)]
    json: bool,
}

fn day_ms(day: &str) -> Result<u64> {
    let d = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .with_context(|| format!("not a day: {day}"))?;
    let t = d.and_hms_opt(0, 0, 0).expect("midnight") - chrono::Duration::hours(8);
    Ok(t.and_utc().timestamp_millis().max(0) as u64)
}

pub fn run(hub: &Hub, a: Args) -> Result<()> {
    if a.verify {
        match hub.verify_audit()? {
            Ok(n) => println!("the audit log is intact: {n} lines"),
            Err(b) => bail!("the audit log is broken at line {}: {}", b.seq, b.what),
        }
        return Ok(());
    }
    let q = AuditQuery {
        since_ms: a.since.as_deref().map(day_ms).transpose()?,
        until_ms: None,
        actor: a.actor,
        action: a.action,
        target: a.target,
        limit: a.limit,
    };
    let lines = hub.audit_log(&q)?;
    if a.csv {
        print!("{}", gridhub::audit::to_csv(&lines)?);
    } else if a.json {
        super::print_json(&lines)?;
    } else {
        for e in lines {
            println!(
                "{}\t{}\t{}\t{}\t{}\t{}",
                e.seq,
                gridhub::hub::rfc3339_ms(e.at_ms),
                e.actor_name,
                e.role,
                e.action,
                e.target
            );
        }
    }
    Ok(())
}
