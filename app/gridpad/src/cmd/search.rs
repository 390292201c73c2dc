//! `gridpad search`: residents (name fragment, ID tail, phone, address), houses or units.

use super::{print_json, Ctx};
use anyhow::Result;
use clap::ValueEnum;

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    People,
    Houses,
    /// Organisations (单位); `--kind units` on the command line.
    #[value(name = "units")]
    Organisations,
}

#[derive(clap::Args)]
pub struct Args {
    query: String,
    #[arg(long, value_enum, default_value_t = Kind::People)]
    kind: Kind,
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Continue from the `next` cursor of a previous page.
    #[arg(long)]
    page: Option<String>,
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let store = ctx.open()?;
    let (query, limit, page) = (&a.query, a.limit, a.page.as_deref());
    match a.kind {
        Kind::People => {
            let p = store.search_people(query, limit, page)?;
            if a.json {
                return print_json(&p);
            }
            for h in &p.hits {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t[{}]",
                    h.name,
                    h.sex,
                    h.id_number.as_deref().unwrap_or("-"),
                    h.phone.as_deref().unwrap_or("-"),
                    h.address.as_deref().unwrap_or("-"),
                    h.matched
                );
            }
            print_next(p.next.as_deref(), p.hits.is_empty());
        }
        Kind::Houses => {
            let p = store.search_houses(query, limit, page)?;
            if a.json {
                return print_json(&p);
            }
            for h in &p.hits {
                println!("{}\t{}\t{} residents", h.full_address, h.use_, h.residents);
            }
            print_next(p.next.as_deref(), p.hits.is_empty());
        }
        Kind::Organisations => {
            let p = store.search_organisations(query, limit, page)?;
            if a.json {
                return print_json(&p);
            }
            for h in &p.hits {
                println!("{}\t{}\t{}\t[{}]", h.name, h.kind, h.address, h.matched);
            }
            print_next(p.next.as_deref(), p.hits.is_empty());
        }
    }
    Ok(())
}

fn print_next(next: Option<&str>, empty: bool) {
    if empty {
        println!("(nothing found)");
    }
    if let Some(n) = next {
        println!("more: --page {n}");
    }
}
