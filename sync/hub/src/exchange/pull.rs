//! Pulled pages: each scope's change log after the device's cursor, within a byte budget,
//! with the scope's checksum and count up to the page's end.

use crate::hub::{Hub, HubError, HubResult};
use gridhub_store::{with_read_tx, Scope};
use gridpad_proto::wire::*;
use std::collections::HashMap;

impl Hub {
    pub(super) fn pull(&self, scopes: &[Scope], req: &SyncRequest) -> HubResult<(Vec<Page>, bool)> {
        // A cursor per scope the device reads; repeats and strangers are not work.
        if req.cursors.len() > 2 * scopes.len() + 16 {
            return Err(HubError::TooLarge(format!(
                "{} cursors for {} scopes",
                req.cursors.len(),
                scopes.len()
            )));
        }
        // In the hub's order of scopes (what others refer to first), whatever the device's.
        let asked: HashMap<Scope, u64> = req
            .cursors
            .iter()
            .filter_map(|c| Some((c.scope.parse::<Scope>().ok()?, c.after_op)))
            .collect();
        let cursors: Vec<(Scope, u64)> = scopes
            .iter()
            .filter_map(|s| asked.get(s).map(|a| (s.clone(), *a)))
            .collect();
        let mut budget = req.max_bytes.clamp(4_096, 4 << 20) as usize;
        let mut pages = vec![];
        let mut more = false;
        // A snapshot for reading: a device's download never makes a push run again.
        with_read_tx(self.store(), |tx| {
            pages.clear();
            more = false;
            for (scope, after) in &cursors {
                let last = tx.last_op(scope)?;
                let ops = if budget > 0 && *after < last {
                    tx.ops_after(scope, *after, budget)?
                } else {
                    vec![]
                };
                let used: usize = ops
                    .iter()
                    .map(|o| {
                        serde_json::to_string(&o.fields)
                            .map(|s| s.len())
                            .unwrap_or(0)
                            + 64
                    })
                    .sum();
                budget = budget.saturating_sub(used);
                let next = ops
                    .last()
                    .map(|o| o.op_id)
                    .unwrap_or((*after).min(last))
                    .max(*after);
                let (checksum, count) = tx.scope_summary(scope, next)?;
                let complete = next >= last;
                more |= !complete;
                // Only a scope still downloading pays for counting what is left.
                let remaining = if complete {
                    0
                } else {
                    tx.ops_after_count(scope, next)?
                };
                pages.push(Page {
                    scope: scope.to_string(),
                    ops,
                    next_after_op: next,
                    checksum,
                    count,
                    complete,
                    remaining,
                });
            }
            Ok(())
        })?;
        Ok((pages, more))
    }
}
