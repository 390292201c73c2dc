//! `gridpad dev-write-reports` (hidden): write reports one after another until stopped,
//! for the crash tests.

use super::Ctx;
use anyhow::Result;
use gridpad_core::NewReport;
use std::io::Write;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 1_000_000)]
    count: usize,
}

pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let mut store = ctx.open()?;
    let mut out = std::io::stdout().lock();
    for i in 0..a.count {
        store.report_event(NewReport {
            category_code: "0401".into(),
            description: format!("崩溃测试上报 {i}"),
            reporter: "测试".into(),
            ..Default::default()
        })?;
        writeln!(out, "{i}")?;
        out.flush()?;
    }
    Ok(())
}
