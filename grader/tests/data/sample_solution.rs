//! A sample solution file for the stub generator's snapshot: every marker it understands.
// STUB: #![allow(unused_variables, unused_imports)] // remove once you have solved a few

use candle_core::{Result, Tensor, D};
// BEGIN SOLUTION ONLY
use std::collections::HashMap;
// END SOLUTION

/// ## softmax
/// The softmax of `x` over its last axis (subtract the row maximum first).
pub fn softmax(x: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let e = x.broadcast_sub(&x.max_keepdim(D::Minus1)?)?.exp()?;
    e.broadcast_div(&e.sum_keepdim(D::Minus1)?)
    // END SOLUTION
}

/// A counter of tokens.
pub struct Counter {
    pub total: usize,
    // BEGIN SOLUTION ONLY
    seen: HashMap<u32, usize>,
    // END SOLUTION
}

impl Counter {
    /// ## count
    /// Count `token` once more; returns how often it has been seen.
    pub fn count(&mut self, token: u32) -> usize {
        // BEGIN SOLUTION
        self.total += 1;
        let n = self.seen.entry(token).or_default();
        *n += 1;
        *n
        // END SOLUTION
    }

    // BEGIN SOLUTION ONLY
    fn reset(&mut self) {
        self.seen.clear();
    }
    // END SOLUTION
}
