//! `gridhub admin import FILE`: base data as JSON lines of {entity, row_id, op, fields,
//! hlc}; `op` is insert, update or delete (`"op": "delete"`, or the tagged form
//! `"op": {"op": "delete"}` of the wire's `Op`). A bad line refuses its batch of 5,000,
//! naming the line; batches before it stay imported.

use anyhow::{anyhow, Context, Result};
use gridhub::Hub;
use gridpad_proto::{Op, RemoteChange};
use std::io::BufRead;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    file: PathBuf,
}

const BATCH: usize = 5_000;

/// One line: `op` as text (`insert`, `update`, `delete`) or tagged.
fn parse_line(line: &str) -> Result<RemoteChange> {
    let mut v: serde_json::Value = serde_json::from_str(line)?;
    if let Some(text) = v.get("op").and_then(serde_json::Value::as_str) {
        let op =
            Op::from_text(text).ok_or_else(|| anyhow!("op {text:?}: insert, update or delete"))?;
        v["op"] = serde_json::to_value(op)?;
    }
    Ok(serde_json::from_value(v)?)
}

pub fn run(hub: &Hub, a: Args) -> Result<()> {
    let f =
        std::fs::File::open(&a.file).with_context(|| format!("opening {}", a.file.display()))?;
    let mut batch = vec![];
    let mut first_line = 1;
    let mut n = 0;
    let mut flush = |batch: &mut Vec<RemoteChange>, first_line: usize| -> Result<()> {
        hub.import(&gridhub::authz::Principal::cli(), batch)
            .with_context(|| {
                format!("lines from {first_line}: nothing of this batch was imported")
            })?;
        n += batch.len();
        batch.clear();
        gridhub::crash::point("import.after_batch");
        Ok(())
    };
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        if batch.is_empty() {
            first_line = i + 1;
        }
        batch.push(parse_line(&line).with_context(|| format!("line {}", i + 1))?);
        if batch.len() == BATCH {
            flush(&mut batch, first_line)?;
        }
    }
    flush(&mut batch, first_line)?;
    println!("imported {n} records");
    Ok(())
}
