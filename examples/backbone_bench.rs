//! The backbone's speed natively, one thread, with the same code as the page
//! www/bench-backbone.html (`purrceptron::pretrained::bench::run`): ms per image at 128 px over
//! the dataset's images, the pass's GFLOP/s and each layer's, then a pretrained-feature training
//! and 5 head-only retrainings, and 5 classifications of PHOTO if given (a file:
//! tests/bench/backbone-bench.mjs passes the 12-megapixel JPEG the browser drew). A benchmark:
//! prints, asserts nothing.
//!
//!   cargo run --release --example backbone_bench -- www/data/backbone.safetensors \
//!       www/data/catvnoncat.safetensors [passes=259] [runs=5] [PHOTO]
//!
//! With `--json` first, prints the runs' reports as one JSON array instead (for
//! tests/bench/backbone-bench.mjs, which prints them beside the browser's).

use std::sync::Arc;
use std::time::Instant;

use purrceptron::backbone::{Backbone, INPUT_SIDE};
use purrceptron::data::Dataset;
use purrceptron::pretrained::bench;

fn arg(args: &[String], i: usize, fallback: usize) -> usize {
    args.get(i).and_then(|a| a.parse().ok()).unwrap_or(fallback)
}

fn stats(xs: &[f64]) -> (f64, f64, f64) {
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let med = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    (s[0], med, s[n - 1])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().collect();
    let json = args.get(1).is_some_and(|a| a == "--json");
    if json {
        args.remove(1);
    }
    if args.len() < 3 {
        eprintln!("usage: backbone_bench BACKBONE DATASET [passes=259] [runs=5] [PHOTO]");
        std::process::exit(2);
    }
    let net = Arc::new(Backbone::from_bytes(&std::fs::read(&args[1])?)?);
    let data = Dataset::from_bytes(&std::fs::read(&args[2])?)?;
    let (passes, runs, input) = (arg(&args, 3, 259), arg(&args, 4, 5), INPUT_SIDE);
    let photo = args.get(5).map(std::fs::read).transpose()?;
    let start = Instant::now();
    let mut now = || start.elapsed().as_secs_f64() * 1e3;
    let mut totals = Vec::new();
    let mut per_image = Vec::new();
    let mut pass_gflops = Vec::new();
    let mut peak_1x1 = Vec::new();
    let mut layer_ms: Vec<Vec<f64>> = Vec::new();
    let (mut cold, mut retrain, mut photo_ms) = (Vec::new(), Vec::new(), Vec::new());
    let mut last = None;
    let mut reports = Vec::new();
    for _ in 0..runs {
        let report = bench::run(
            Arc::clone(&net),
            &data,
            passes,
            20.0,
            5,
            photo.as_deref(),
            &mut now,
        )?;
        if json {
            reports.push(report);
            continue;
        }
        cold.push(report.training.cold_ms);
        retrain.extend_from_slice(&report.training.retrain_ms);
        photo_ms.extend_from_slice(&report.training.photo_ms);
        let r = report.backbone;
        let total: f64 = r.image_ms.iter().sum();
        let (_, med, _) = stats(&r.image_ms);
        totals.push(total);
        per_image.push(med);
        pass_gflops.push(2.0 * r.madds as f64 / (med * 1e6));
        peak_1x1.push(
            r.layers
                .iter()
                .filter(|l| l.kind == "1x1")
                .map(|l| l.gflops())
                .fold(0.0, f64::max),
        );
        layer_ms.resize(r.layers.len(), Vec::new());
        for (v, l) in layer_ms.iter_mut().zip(&r.layers) {
            v.push(l.ms);
        }
        last = Some(r);
    }
    if json {
        println!("{}", serde_json::to_string(&reports)?);
        return Ok(());
    }
    let Some(r) = last else { return Ok(()) };
    println!("native backbone benchmark, one thread, input {input} px, {passes} passes a run, {runs} runs");
    println!("{:<28} {:>9} {:>9} {:>9}", "figure", "min", "median", "max");
    let row = |name: &str, xs: &[f64]| {
        let (a, b, c) = stats(xs);
        println!("{name:<28} {a:>9.2} {b:>9.2} {c:>9.2}");
    };
    row(
        &format!("{passes} images, s"),
        &totals.iter().map(|t| t / 1e3).collect::<Vec<_>>(),
    );
    row("ms per image (run median)", &per_image);
    row("pass GFLOP/s", &pass_gflops);
    row("1x1 peak GFLOP/s", &peak_1x1);
    row("training from nothing, ms", &cold);
    row("head-only retraining, ms", &retrain);
    row("classify PHOTO + heat map, ms", &photo_ms);
    println!("multiply-adds per pass: {:.1} M", r.madds as f64 / 1e6);
    println!();
    println!(
        "{:<22} {:>9} {:>8} {:>9} {:>8}",
        "layer (median of runs)", "kind", "M madds", "ms", "GFLOP/s"
    );
    let mut by_kind = std::collections::BTreeMap::<&str, (f64, u64)>::new();
    for (l, ms) in r.layers.iter().zip(&layer_ms) {
        let (_, med, _) = stats(ms);
        let e = by_kind.entry(l.kind).or_default();
        e.0 += med;
        e.1 += l.madds;
        println!(
            "{:<22} {:>9} {:>8.2} {:>9.3} {:>8.1}",
            l.name,
            l.kind,
            l.madds as f64 / 1e6,
            med,
            2.0 * l.madds as f64 / (med * 1e6)
        );
    }
    for (kind, (ms, madds)) in by_kind {
        println!(
            "all {kind:<18} {:>9} {:>8.2} {:>9.3} {:>8.1}",
            "",
            madds as f64 / 1e6,
            ms,
            2.0 * madds as f64 / (ms * 1e6)
        );
    }
    Ok(())
}
