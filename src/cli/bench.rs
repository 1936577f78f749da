//! `purrceptron bench`: times training and classification, the fast path beside the
//! straightforward one, and prints the figures (a benchmark, not a test).

use std::ops::ControlFlow;
use std::time::Instant;

use purrceptron::data::Dataset;
use purrceptron::features::FeatureParams;
use purrceptron::model::{classify, Model, Receipt, SavedNetwork};
use purrceptron::network::{Hyperparams, Inputs, Solver};
use purrceptron::preprocess::{Framing, PIXELS};
use purrceptron::{Error, Result};

/// Min, median and max of `runs` timings of `f`, in seconds, and `f`'s last result.
fn timed<T>(runs: usize, mut f: impl FnMut() -> Result<T>) -> Result<([f64; 3], T)> {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        last = Some(f()?);
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let stats = [times[0], times[times.len() / 2], times[times.len() - 1]];
    last.map(|t| (stats, t))
        .ok_or(Error::State("no run was timed"))
}

pub fn bench(
    dataset: &Dataset,
    runs: usize,
    slow_runs: usize,
    deep_slow_iters: usize,
) -> Result<()> {
    let train = |hidden: &[usize], iters: usize, lr: f64, solver: Solver| {
        let hyper = Hyperparams::builder()
            .hidden(hidden.to_vec())
            .iterations(iters)
            .learning_rate(lr)
            .solver(solver)
            .build()?;
        hyper.fit(
            Inputs::pixels(dataset.train.pixels.clone(), PIXELS)?,
            &dataset.train.labels,
            |_| ControlFlow::Continue(()),
        )
    };
    let row = |name: &str, t: [f64; 3], scale: f64| {
        println!(
            "{name:<34} {:>10.1} {:>10.1} {:>10.1}",
            t[0] * 1e3 * scale,
            t[1] * 1e3 * scale,
            t[2] * 1e3 * scale
        );
    };
    println!(
        "native, {} cores; min / median / max in ms over repeated runs",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("{:<34} {:>10} {:>10} {:>10}", "", "min", "median", "max");
    for (label, hidden, iters, lr, slow_iters) in [
        ("logistic regression, 2000 it", &[][..], 2000, 0.005, 2000),
        (
            "4-layer [20,7,5], 2500 it",
            &[20, 7, 5][..],
            2500,
            0.0075,
            deep_slow_iters.max(1),
        ),
    ] {
        let (fast, fast_model) = timed(runs, || train(hidden, iters, lr, Solver::Gram))?;
        let scale = iters as f64 / slow_iters as f64;
        let (slow, slow_model) =
            timed(slow_runs, || train(hidden, slow_iters, lr, Solver::Direct))?;
        row(&format!("{label}: fast"), fast, 1.0);
        let note = if slow_iters == iters {
            String::new()
        } else {
            format!(" ({slow_iters} it x{scale:.0})")
        };
        row(&format!("{label}: straightforward{note}"), slow, scale);
        println!(
            "{:<34} {:>10.1}x (medians)",
            "  ratio",
            slow[1] * scale / fast[1]
        );
        if slow_iters == iters {
            let (a, b) = (fast_model.report.final_cost, slow_model.report.final_cost);
            let x = dataset.test.to_matrix();
            let same =
                fast_model.network.predict(x.view())? == slow_model.network.predict(x.view())?;
            println!(
                "  final cost {a:.10} vs {b:.10} (relative difference {:.1e}); identical test predictions: {same}",
                (a - b).abs() / b
            );
        }
    }
    let (t, trained) = timed(runs, || {
        FeatureParams::builder()
            .build()?
            .fit(&dataset.train.pixels, &dataset.train.labels, |_| {})
    })?;
    row("learned features (defaults)", t, 1.0);
    let (t, _) = timed(runs, || trained.model.logits_pixels(&dataset.test.pixels))?;
    row("  encode + classify 50 test images", t, 1.0);
    // A 12-megapixel JPEG, drawn to compress like a photo.
    let img = image::RgbImage::from_fn(4000, 3000, |x, y| {
        let n = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) >> 28;
        image::Rgb([
            ((x / 16 + y / 32) % 256) as u8 ^ n as u8,
            ((x * y / 9000) % 256) as u8,
            (128 + (x as i32 - 2000).abs() / 16 - (y as i32 - 1500).abs() / 24) as u8,
        ])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&img)
        .map_err(|e| Error::ImageEncode(e.to_string()))?;
    let (_, trained) = timed(1, || train(&[], 2000, 0.005, Solver::Gram))?;
    let model = Model::Network(SavedNetwork {
        network: trained.network,
        hyperparams: trained.hyperparams,
        receipt: Receipt::default(),
        classes: dataset.classes.clone(),
    });
    let (t, _) = timed(runs, || classify(&model, &jpeg, Framing::Crop))?;
    row(
        &format!("classify 12 MP JPEG ({:.1} MB)", jpeg.len() as f64 / 1e6),
        t,
        1.0,
    );
    Ok(())
}
