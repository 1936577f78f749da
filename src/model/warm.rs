//! A short training on made-up images that runs logistic regression's whole path once: the
//! Gram matrix of the pixels, the solver's iterations, the evaluation on both splits.
//!
//! Why: a browser runs a fresh WebAssembly module in baseline code and optimises a function only
//! after it has run for a while, and a function's optimised code is used from its next call on
//! (there is no on-stack replacement). The first logistic-regression training in a fresh worker
//! therefore took three times as long as the next (195 against 65 ms in Chromium 156: the Gram
//! matrix 58 against 15 ms, the evaluation 53 against 7), whatever the browser had cached. The
//! page's worker runs this once it is ready, while nobody waits (~20-40 ms), so that the
//! training a person asks for runs optimised code. Natively it only costs the same time.

use serde_json::json;

use super::ModelSpec;
use crate::data::{Dataset, Split};
use crate::preprocess::SIDE;
use crate::Result;

/// Trains logistic regression for `iterations` on `images` made-up training images (and a few
/// test ones) and evaluates it; returns the final cost (finite), so the work is not elided.
pub fn warm_up(images: usize, iterations: usize) -> Result<f64> {
    let pixels = SIDE * SIDE * 3;
    let mut state = 0x9e37_79b9u32;
    let mut split = |n: usize| {
        let bytes = (0..n * pixels)
            .map(|_| {
                // A linear congruential generator: any bytes will do, the same every time.
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 24) as u8
            })
            .collect();
        Split::new(bytes, (0..n).map(|i| (i % 2) as u8).collect(), 2)
    };
    let dataset = Dataset {
        train: split(images.max(2))?,
        test: split(4)?,
        classes: vec!["non-cat".into(), "cat".into()],
        source: "warm-up".into(),
        source_sha256: String::new(),
    };
    let spec = ModelSpec::from_request(&json!({"model": "lr", "iterations": iterations}))?;
    let mut training = spec.start(&dataset.train)?;
    training.step(iterations)?;
    let finished = training.finish(&dataset, String::new(), String::new())?;
    Ok(finished.costs.last().map_or(0.0, |&(_, c)| c))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_warm_up_trains_to_a_finite_cost() {
        let cost = super::warm_up(16, 50).unwrap();
        assert!(cost.is_finite() && cost > 0.0, "{cost}");
    }
}
