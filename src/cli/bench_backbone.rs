//! `purrceptron bench`, the pretrained backbone's rows: feature extraction per image and its
//! arithmetic rate, the 1x1 kernel's own rate, a whole training and the head-only retrain.

use std::path::Path;
use std::time::Instant;

use purrceptron::backbone::pointwise::{Epilogue, Pointwise};
use purrceptron::backbone::{Scratch, INPUT_SIDE};
use purrceptron::data::Dataset;
use purrceptron::preprocess::{PIXELS, SIDE};
use purrceptron::pretrained::MACS_AT_128;
use purrceptron::Result;

/// Median of `runs` timings of `f`, in seconds.
fn median(runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut times = Vec::new();
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

pub fn bench(dataset: &Dataset, backbone: &Path, runs: usize) -> Result<()> {
    let backbone = match super::load_backbone(backbone) {
        Ok(b) => b,
        Err(e) => {
            println!("pretrained backbone: skipped ({e})");
            return Ok(());
        }
    };
    println!("pretrained backbone (EfficientNet-Lite0, {INPUT_SIDE} px, one core)");
    let images = dataset.train.pixels.chunks_exact(PIXELS).take(20);
    let n = images.len().max(1);
    let mut scratch = Scratch::default();
    let t = median(runs, || {
        for img in dataset.train.pixels.chunks_exact(PIXELS).take(n) {
            backbone.features_with(img, SIDE, INPUT_SIDE, &mut scratch)?;
        }
        Ok(())
    })? / n as f64;
    println!(
        "  features of one image             {:>8.1} ms  ({:.1} GFLOP/s at {MACS_AT_128} M multiply-adds)",
        t * 1e3,
        2.0 * MACS_AT_128 * 1e6 / t / 1e9
    );
    // The largest 1x1 convolution of the network at 128 px (block 15's expansion is 4x4x192
    // -> 1152; block 1's, 64x64 positions of 16 -> 96): a mid-sized product with room to run.
    let (rows, cin, cout) = (1024, 192, 1152);
    let w: Vec<f32> = (0..cin * cout)
        .map(|i| ((i % 17) as f32 - 8.0) / 64.0)
        .collect();
    let x: Vec<f32> = (0..rows * cin).map(|i| ((i % 13) as f32) / 13.0).collect();
    let pw = Pointwise::new(cin, cout, &w, vec![0.0; cout]);
    let mut out = vec![0.0f32; rows * cout];
    let t = median(runs.max(5), || {
        pw.apply(&x, rows, Epilogue::Linear, &mut out);
        Ok(())
    })?;
    println!(
        "  1x1 kernel alone ({rows}x{cin} . {cin}x{cout})   {:>8.1} GFLOP/s",
        2.0 * (rows * cin * cout) as f64 / t / 1e9
    );
    let start = Instant::now();
    let mut now = || start.elapsed().as_secs_f64() * 1e3;
    let t = purrceptron::pretrained::bench::training(backbone, dataset, runs, None, &mut now)?;
    println!(
        "  extract {} images, fit, evaluate {:>8.2} s  (extraction {:.2} s, head {:.2} s)",
        t.images,
        t.cold_ms / 1e3,
        t.extraction_ms / 1e3,
        (t.cold_ms - t.extraction_ms) / 1e3
    );
    let mut retrain = t.retrain_ms;
    retrain.sort_by(f64::total_cmp);
    if let Some(ms) = retrain.get(retrain.len() / 2) {
        println!("  head-only retrain from cached features {ms:>6.1} ms (fit and evaluation)");
    }
    Ok(())
}
