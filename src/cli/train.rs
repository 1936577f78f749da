//! `purrceptron train`: the flags become a training request, which the library reads like the
//! page's (same defaults, same refusals), trains and saves.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use purrceptron::model::{rfc3339_utc, Model, ModelSpec, TrainingContext};
use purrceptron::{Error, Result};

use super::args::{ModelKind, SolverArg, TrainArgs};
use super::output::{draw_progress, pct, print_eval};
use super::{load_backbone, load_dataset, write};

/// Iterations between the costs a network records (the progress bar's resolution); saved in
/// the model's hyper-parameters, so it stays what it always was.
const REPORT_EVERY: usize = 10;

pub fn train(args: TrainArgs) -> Result<ExitCode> {
    let dataset = load_dataset(&args.data)?;
    let spec = ModelSpec::from_request(&request(&args)).map_err(flag_names)?;
    let context = TrainingContext {
        backbone: match spec {
            ModelSpec::Pretrained(_) => Some(load_backbone(&args.backbone)?),
            _ => None,
        },
        features: None,
        // Pretrained features: the test images are extracted with the training images, once.
        test: Some(dataset.test.clone()),
        pixel_gram: None,
    };
    let bar = !args.json && std::io::stderr().is_terminal();
    let start = Instant::now();
    let finished = spec.fit_with(&dataset, context, now, |p| {
        if bar {
            draw_progress(p, start);
        }
    })?;
    if bar {
        eprintln!();
    }
    let seconds = start.elapsed().as_secs_f64();
    write(&args.output, &finished.model.to_bytes()?)?;
    if let Some(w) = &finished.warning {
        eprintln!("warning: {w}");
    }
    let output = args.output.display().to_string();
    let receipt = finished.model.receipt();
    match &finished.model {
        Model::Network(saved) if args.json => println!(
            "{}",
            json!({
                "output": output,
                "hyperparams": saved.hyperparams,
                "receipt": receipt,
                "evaluation": finished.evaluation,
                "seconds": seconds,
                "warning": finished.warning.as_ref().map(|w| w.to_string()),
            })
        ),
        Model::Features(saved) if args.json => println!(
            "{}",
            json!({
                "output": output,
                "params": saved.model.params(),
                "cross_validation": saved.cross_validation,
                "kmeans_objective": finished.kmeans_objective,
                "receipt": receipt,
                "evaluation": finished.evaluation,
                "seconds": seconds,
            })
        ),
        Model::Pretrained(saved) if args.json => println!(
            "{}",
            json!({
                "output": output,
                "params": saved.model.params(),
                "cross_validation": saved.cross_validation,
                "backbone_sha256": saved.model.backbone_sha256(),
                "receipt": receipt,
                "evaluation": finished.evaluation,
                "seconds": seconds,
            })
        ),
        model => {
            let cv = match model {
                Model::Features(saved) => Some(&saved.cross_validation),
                Model::Pretrained(saved) => Some(&saved.cross_validation),
                Model::Network(_) => None,
            };
            if let Some(cv) = cv {
                let best = cv.scores.iter().find(|s| s.0 == cv.c).map_or(0.0, |s| s.1);
                println!(
                    "C = {} by {}-fold cross-validation (held-out accuracy {})",
                    cv.c,
                    purrceptron::features::FOLDS,
                    pct(best)
                );
            }
            println!("final cost      {:.6}", receipt.final_cost);
            print_eval(&finished.evaluation);
            println!("trained in {seconds:.2} s; saved {output}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The training request of the flags given (a flag not given takes the model's default).
fn request(args: &TrainArgs) -> Value {
    let mut r = Map::new();
    let model = match args.model {
        ModelKind::Lr => "lr",
        ModelKind::Deep => "deep",
        ModelKind::Features => "features",
        ModelKind::Pretrained => "pretrained",
    };
    r.insert("model".into(), json!(model));
    if !matches!(args.model, ModelKind::Features | ModelKind::Pretrained) {
        r.insert("report_every".into(), json!(REPORT_EVERY));
    }
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(v) = value {
            r.insert(key.into(), v);
        }
    };
    put("hidden", args.layers.as_ref().map(|l| json!(l)));
    put("iterations", args.iters.map(|n| json!(n)));
    put("learning_rate", args.lr.map(|x| json!(x)));
    put("l2", args.l2.map(|x| json!(x)));
    put("seed", args.seed.map(|n| json!(n)));
    put(
        "solver",
        args.solver.map(|s| match s {
            SolverArg::Gram => json!("gram"),
            SolverArg::Direct => json!("direct"),
        }),
    );
    put("filters", args.filters.map(|n| json!(n)));
    put("patches", args.patches.map(|n| json!(n)));
    put("kmeans_iterations", args.kmeans_iters.map(|n| json!(n)));
    put("side", args.side.map(|n| json!(n)));
    put("flip", args.flip.then_some(json!(true)));
    Value::Object(r)
}

/// A parameter the model does not take, named as the flag a person typed (a value out of range
/// keeps the parameter's own name, as the page shows it too).
fn flag_names(e: Error) -> Error {
    let flag = |name: &str| -> Option<&'static str> {
        Some(match name {
            "hidden" => "--layers",
            "iterations" => "--iters",
            "learning_rate" => "--lr",
            "l2" => "--l2",
            "seed" => "--seed",
            "solver" => "--solver",
            "filters" => "--filters",
            "patches" => "--patches",
            "kmeans_iterations" => "--kmeans-iters",
            "side" => "--side",
            "flip" => "--flip",
            _ => return None,
        })
    };
    match e {
        Error::UnusedParameter { model, name, why } => Error::UnusedParameter {
            model,
            name: flag(&name).map_or(name, String::from),
            why,
        },
        other => other,
    }
}

/// Now, for the receipt: training ends when the model is saved.
fn now() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    rfc3339_utc(seconds)
}
