//! `purrceptron`: convert datasets, train, evaluate and classify photos from the command line.

use std::io::{IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

use purrceptron::classifier;
use purrceptron::dataset::Dataset;
use purrceptron::features::FeatureParams;
use purrceptron::modelfile::{rfc3339_utc, AnyModel};
use purrceptron::network::{Hyperparams, Progress, Solver};
use purrceptron::preprocess::Framing;
use purrceptron::{Error, Result};

#[derive(Parser)]
#[command(
    name = "purrceptron",
    version,
    about = "Cat-vs-non-cat classifier: convert, train, evaluate, predict"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModelKind {
    /// Logistic regression (no hidden layer); defaults 2000 iterations, lr 0.005.
    Lr,
    /// L-layer network (`--layers`, default 20,7,5); defaults 2500 iterations, lr 0.0075.
    Deep,
    /// Learned convolutional features (k-means filters) + L2 logistic regression, C by
    /// cross-validation (`--filters`, `--patches`, `--kmeans-iters`, `--seed`).
    Features,
}

#[derive(Clone, Copy, ValueEnum)]
enum FramingArg {
    /// Center-crop to a square, then resize (default).
    Crop,
    /// Resize the whole photo to 64x64, ignoring its aspect ratio.
    Squash,
}

impl From<FramingArg> for Framing {
    fn from(f: FramingArg) -> Framing {
        match f {
            FramingArg::Crop => Framing::Crop,
            FramingArg::Squash => Framing::Squash,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum SolverArg {
    Gram,
    Direct,
}

#[derive(Subcommand)]
enum Command {
    /// Build a dataset file from the catvnoncat HDF5 files or from folders of photos.
    Convert {
        /// Folder holding train_catvnoncat.h5 and test_catvnoncat.h5.
        #[arg(long, conflicts_with = "images", required_unless_present = "images")]
        h5: Option<PathBuf>,
        /// Folder holding cat/ and non-cat/ sub-folders of photos.
        #[arg(long)]
        images: Option<PathBuf>,
        /// With --images: fraction of each class put in the test split.
        #[arg(long, default_value_t = 0.2)]
        test_fraction: f64,
        /// With --images: seed of the split.
        #[arg(long, default_value_t = 1)]
        seed: u32,
        /// With --images: how photos are fitted to 64x64.
        #[arg(long, value_enum, default_value_t = FramingArg::Crop)]
        fit: FramingArg,
        /// Output dataset file (.safetensors).
        #[arg(short, long)]
        output: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Train a model on a dataset file and save it.
    Train {
        #[arg(long)]
        data: PathBuf,
        #[arg(long, value_enum, default_value_t = ModelKind::Lr)]
        model: ModelKind,
        /// Hidden layer sizes for --model deep, comma-separated.
        #[arg(long, value_delimiter = ',')]
        layers: Option<Vec<usize>>,
        #[arg(long)]
        iters: Option<usize>,
        /// Learning rate.
        #[arg(long)]
        lr: Option<f64>,
        /// L2 penalty.
        #[arg(long, default_value_t = 0.0)]
        l2: f64,
        #[arg(long, default_value_t = 1)]
        seed: u32,
        #[arg(long, value_enum, default_value_t = SolverArg::Gram)]
        solver: SolverArg,
        /// With --model features: number of filters (the model has 8 x filters features).
        #[arg(long, default_value_t = purrceptron::features::DEFAULT_FILTERS)]
        filters: usize,
        /// With --model features: patches sampled for whitening and k-means.
        #[arg(long, default_value_t = purrceptron::features::DEFAULT_PATCHES)]
        patches: usize,
        /// With --model features: k-means iterations.
        #[arg(long, default_value_t = purrceptron::features::DEFAULT_KMEANS_ITERATIONS)]
        kmeans_iters: usize,
        /// Output model file (.safetensors).
        #[arg(short, long)]
        output: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Print a saved model's accuracy on a dataset file.
    Eval {
        model: PathBuf,
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Time training and classification: the fast path beside the straightforward one.
    Bench {
        #[arg(long)]
        data: PathBuf,
        /// Runs of each fast row.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Runs of each straightforward row (they are slow).
        #[arg(long, default_value_t = 3)]
        slow_runs: usize,
        /// Iterations of the straightforward deep network, extrapolated to 2500.
        #[arg(long, default_value_t = 100)]
        deep_slow_iters: usize,
    },
    /// Serve the web app (static files) on 127.0.0.1.
    Serve {
        #[arg(long, default_value_t = 8000)]
        port: u16,
        /// Folder to serve.
        #[arg(long, default_value = "www")]
        dir: PathBuf,
    },
    /// Classify photos: one line per photo (path, probability of cat, label).
    Predict {
        model: PathBuf,
        #[arg(required = true)]
        photos: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = FramingArg::Crop)]
        fit: FramingArg,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

fn load_dataset(path: &Path) -> Result<Dataset> {
    Dataset::from_bytes(&read(path)?).map_err(|e| match e {
        Error::InvalidDataset(m) => Error::InvalidDataset(format!("{}: {m}", path.display())),
        other => other,
    })
}

fn load_model(path: &Path) -> Result<AnyModel> {
    AnyModel::from_bytes(&read(path)?).map_err(|e| match e {
        Error::InvalidModel(m) => Error::InvalidModel(format!("{}: {m}", path.display())),
        other => other,
    })
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Convert {
            h5,
            images,
            test_fraction,
            seed,
            fit,
            output,
            json,
        } => {
            let (dataset, skipped) = match (h5, images) {
                (Some(dir), _) => (purrceptron::h5::convert_dir(&dir)?, Vec::new()),
                (None, Some(dir)) => convert_images(&dir, test_fraction, seed, fit.into())?,
                (None, None) => unreachable!("clap requires --h5 or --images"),
            };
            let bytes = dataset.to_bytes()?;
            write(&output, &bytes)?;
            for (name, e) in &skipped {
                eprintln!("skipped {name}: {e}");
            }
            let summary = json!({
                "output": output.display().to_string(),
                "bytes": bytes.len(),
                "train": {"n": dataset.train.len(), "cats": dataset.train.count(1)},
                "test": {"n": dataset.test.len(), "cats": dataset.test.count(1)},
                "source_sha256": dataset.source_sha256,
                "content_sha256": dataset.content_sha256(),
                "skipped": skipped.iter().map(|(n, e)| json!({"file": n, "error": e.to_string()})).collect::<Vec<_>>(),
            });
            if json {
                println!("{summary}");
            } else {
                println!(
                    "wrote {} ({} bytes): train {} images ({} cats), test {} images ({} cats)",
                    output.display(),
                    bytes.len(),
                    dataset.train.len(),
                    dataset.train.count(1),
                    dataset.test.len(),
                    dataset.test.count(1)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Train {
            data,
            model,
            layers,
            iters,
            lr,
            l2,
            seed,
            solver,
            filters,
            patches,
            kmeans_iters,
            output,
            json,
        } => {
            let dataset = load_dataset(&data)?;
            if let ModelKind::Features = model {
                let not_here = [
                    ("layers", layers.is_some()),
                    ("iters", iters.is_some()),
                    ("lr", lr.is_some()),
                    ("l2", l2 != 0.0),
                ];
                if let Some((name, _)) = not_here.iter().find(|(_, given)| *given) {
                    return Err(Error::InvalidParameter {
                        name,
                        value: "given".into(),
                        expected: "nothing with --model features (its penalty is picked by \
                                   cross-validation)",
                    });
                }
                let params = FeatureParams::builder()
                    .seed(seed)
                    .filters(filters)
                    .patches(patches)
                    .kmeans_iterations(kmeans_iters)
                    .build()?;
                return train_features(&dataset, params, &output, json);
            }
            let (hidden, d_iters, d_lr) = match model {
                ModelKind::Lr => {
                    if layers.as_ref().is_some_and(|l| !l.is_empty()) {
                        return Err(Error::InvalidParameter {
                            name: "layers",
                            value: format!("{layers:?}"),
                            expected: "no hidden layers with --model lr (use --model deep)",
                        });
                    }
                    (Vec::new(), 2000, 0.005)
                }
                ModelKind::Deep => (layers.unwrap_or_else(|| vec![20, 7, 5]), 2500, 0.0075),
                ModelKind::Features => unreachable!("handled above"),
            };
            let hyper = Hyperparams::builder()
                .hidden(hidden)
                .iterations(iters.unwrap_or(d_iters))
                .learning_rate(lr.unwrap_or(d_lr))
                .l2(l2)
                .seed(seed)
                .solver(match solver {
                    SolverArg::Gram => Solver::Gram,
                    SolverArg::Direct => Solver::Direct,
                })
                .report_every(10)
                .build()?;
            let bar = !json && std::io::stderr().is_terminal();
            let start = Instant::now();
            let trained = hyper.fit(dataset.train.inputs(), &dataset.train.labels, |p| {
                if bar {
                    draw_bar(p, start);
                }
                ControlFlow::Continue(())
            })?;
            if bar {
                eprintln!();
            }
            let seconds = start.elapsed().as_secs_f64();
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            let costs = trained.report.costs.clone();
            let (saved, eval) = classifier::save_trained(trained, &dataset, rfc3339_utc(now))?;
            let warning = purrceptron::convergence::check(
                &costs,
                saved.receipt.final_cost,
                saved.hyperparams.learning_rate(),
                eval.train_accuracy,
                dataset.train.majority_rate(),
            );
            write(&output, &saved.to_bytes()?)?;
            if let Some(w) = &warning {
                eprintln!("warning: {w}");
            }
            if json {
                println!(
                    "{}",
                    json!({
                        "output": output.display().to_string(),
                        "hyperparams": saved.hyperparams,
                        "receipt": saved.receipt,
                        "evaluation": eval,
                        "seconds": seconds,
                        "warning": warning.as_ref().map(|w| w.to_string()),
                    })
                );
            } else {
                println!("final cost      {:.6}", saved.receipt.final_cost);
                print_eval(&eval);
                println!("trained in {seconds:.2} s; saved {}", output.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            data,
            runs,
            slow_runs,
            deep_slow_iters,
        } => {
            bench(&load_dataset(&data)?, runs, slow_runs, deep_slow_iters)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { port, dir } => {
            if !dir.join("index.html").is_file() {
                return Err(Error::Convert {
                    path: dir.display().to_string(),
                    reason: "no index.html here: run ./build.sh first, or pass --dir".into(),
                });
            }
            let (listener, addr) = purrceptron::serve::bind(port)?;
            println!("Purrceptron is at http://{addr}/ (Ctrl-C stops it)");
            let _ = std::io::stdout().flush();
            purrceptron::serve::serve(listener, dir)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval { model, data, json } => {
            let saved = load_model(&model)?;
            let dataset = load_dataset(&data)?;
            let eval = classifier::evaluate(&saved, &dataset)?;
            if json {
                println!(
                    "{}",
                    json!({"evaluation": eval, "receipt": saved.receipt()})
                );
            } else {
                print_eval(&eval);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Predict {
            model,
            photos,
            fit,
            json,
        } => {
            let saved = load_model(&model)?;
            let mut failed = 0;
            for path in &photos {
                let result =
                    read(path).and_then(|bytes| classifier::classify(&saved, &bytes, fit.into()));
                let shown = path.display();
                match (result, json) {
                    (Ok(c), false) => println!("{shown}\t{:.6}\t{}", c.probability, c.label),
                    (Ok(c), true) => println!(
                        "{}",
                        json!({"path": shown.to_string(), "probability": c.probability,
                               "label": c.label, "width": c.width, "height": c.height,
                               "format": c.format})
                    ),
                    (Err(e), false) => {
                        failed += 1;
                        println!("{shown}\terror: {e}");
                    }
                    (Err(e), true) => {
                        failed += 1;
                        println!(
                            "{}",
                            json!({"path": shown.to_string(), "error": e.to_string()})
                        );
                    }
                }
            }
            let _ = std::io::stdout().flush();
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                eprintln!(
                    "{failed} of {} photos could not be classified",
                    photos.len()
                );
                ExitCode::from(2)
            })
        }
    }
}

fn train_features(
    dataset: &Dataset,
    params: FeatureParams,
    output: &Path,
    json: bool,
) -> Result<ExitCode> {
    let bar = !json && std::io::stderr().is_terminal();
    let start = Instant::now();
    let trained = params.fit(&dataset.train.pixels, &dataset.train.labels, |p| {
        if bar {
            eprint!(
                "\r{:<10} {:>5.1}% of the stage, {:>5.1}% overall ",
                p.stage.name(),
                100.0 * p.stage_done,
                100.0 * p.done / p.total.max(1e-9)
            );
            let _ = std::io::stderr().flush();
        }
    })?;
    if bar {
        eprintln!();
    }
    let seconds = start.elapsed().as_secs_f64();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let kmeans_objective = trained.report.kmeans_objective.clone();
    let (saved, eval) = classifier::save_trained_features(trained, dataset, rfc3339_utc(now))?;
    write(output, &saved.to_bytes()?)?;
    if json {
        println!(
            "{}",
            json!({
                "output": output.display().to_string(),
                "params": saved.model.params(),
                "cross_validation": saved.cross_validation,
                "kmeans_objective": kmeans_objective,
                "receipt": saved.receipt,
                "evaluation": eval,
                "seconds": seconds,
            })
        );
    } else {
        let cv = &saved.cross_validation;
        let best = cv.scores.iter().find(|s| s.0 == cv.c).map_or(0.0, |s| s.1);
        println!(
            "C = {} by {}-fold cross-validation (held-out accuracy {})",
            cv.c,
            purrceptron::features::FOLDS,
            pct(best)
        );
        println!("final cost      {:.6}", saved.receipt.final_cost);
        print_eval(&eval);
        println!("trained in {seconds:.2} s; saved {}", output.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn print_eval(eval: &classifier::Evaluation) {
    println!(
        "train accuracy  {} ({} images)",
        pct(eval.train_accuracy),
        eval.n_train
    );
    match (eval.test_accuracy, eval.test_majority_baseline) {
        (Some(acc), Some(base)) => println!(
            "test accuracy   {} ({} images; always guessing the majority class scores {})",
            pct(acc),
            eval.n_test,
            pct(base)
        ),
        _ => println!("test accuracy   - (no test split)"),
    }
}

fn draw_bar(p: &Progress, start: Instant) {
    const WIDTH: usize = 30;
    let done = p.iteration * WIDTH / p.iterations.max(1);
    let elapsed = start.elapsed().as_secs_f64();
    let left = if p.iteration > 0 {
        elapsed * (p.iterations - p.iteration) as f64 / p.iteration as f64
    } else {
        0.0
    };
    eprint!(
        "\r[{}{}] {:>7}/{} cost {:.6}  {:.1}s left ",
        "#".repeat(done),
        " ".repeat(WIDTH - done),
        p.iteration,
        p.iterations,
        p.cost,
        left
    );
    let _ = std::io::stderr().flush();
}

fn convert_images(
    dir: &Path,
    test_fraction: f64,
    seed: u32,
    fit: Framing,
) -> Result<(Dataset, Vec<(String, Error)>)> {
    let list = |name: &str| -> Result<Vec<PathBuf>> {
        let sub = dir.join(name);
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&sub)
            .map_err(|e| Error::Convert {
                path: sub.display().to_string(),
                reason: format!("expected a folder of {name} photos ({e})"),
            })?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        // Sorted, so the seeded split does not depend on the file system's order.
        paths.sort();
        Ok(paths)
    };
    // Photos are read lazily, one at a time, so a big folder never sits in memory whole.
    let lazy = |paths: Vec<PathBuf>| {
        paths
            .into_iter()
            .map(|p| (p.display().to_string(), read(&p)))
    };
    Dataset::from_photos(
        lazy(list("cat")?),
        lazy(list("non-cat")?),
        test_fraction,
        seed,
        fit,
    )
}

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
        .ok_or_else(|| Error::Shape("no run".into()))
}

fn bench(dataset: &Dataset, runs: usize, slow_runs: usize, deep_slow_iters: usize) -> Result<()> {
    let train = |hidden: &[usize], iters: usize, lr: f64, solver: Solver| {
        let hyper = Hyperparams::builder()
            .hidden(hidden.to_vec())
            .iterations(iters)
            .learning_rate(lr)
            .solver(solver)
            .build()?;
        hyper.fit(dataset.train.inputs(), &dataset.train.labels, |_| {
            ControlFlow::Continue(())
        })
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
        .map_err(|e| Error::ImageDecode(e.to_string()))?;
    let (_, model) = timed(1, || train(&[], 2000, 0.005, Solver::Gram))?;
    let (t, _) = timed(runs, || {
        classifier::classify(&model.network, &jpeg, Framing::Crop)
    })?;
    row(
        &format!("classify 12 MP JPEG ({:.1} MB)", jpeg.len() as f64 / 1e6),
        t,
        1.0,
    );
    Ok(())
}
