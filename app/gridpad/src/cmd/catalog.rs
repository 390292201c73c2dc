//! `gridpad catalog`: the event catalog (事项清单).

use super::{print_json, Ctx};
use anyhow::Result;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let store = ctx.open()?;
    let cat = store.catalog()?;
    if a.json {
        return print_json(&cat);
    }
    for c in cat.iter().filter(|c| c.level == 1) {
        println!("{} {}（{}）", c.code, c.name, c.department);
        for s in cat
            .iter()
            .filter(|s| s.parent_code.as_deref() == Some(&c.code))
        {
            let fields: Vec<String> = s
                .fields
                .iter()
                .map(|f| format!("{}{}", f.key, if f.required { "*" } else { "" }))
                .collect();
            println!(
                "  {} {}\t{} h\t{}",
                s.code,
                s.name,
                s.deadline_hours.unwrap_or(0),
                fields.join(" ")
            );
        }
    }
    Ok(())
}
