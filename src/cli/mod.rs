//! The commands of the binary: each parses its flags into library calls and prints the result.

pub mod args;
mod bench;
mod commands;
mod h5;
mod imagenet;
mod output;
mod serve;
mod train;

use std::path::Path;
use std::process::ExitCode;

use purrceptron::data::Dataset;
use purrceptron::model::Model;
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
        } => {
            bench::bench(&load_dataset(&data)?, runs, slow_runs, deep_slow_iters)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { port, dir } => commands::serve(port, &dir),
        Command::Eval { model, data, json } => commands::eval(&model, &data, json),
        Command::Predict {
            model,
            photos,
            fit,
            json,
        } => commands::predict(&model, &photos, fit.into(), json),
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

/// A dataset file, its path named in any error about its content.
fn load_dataset(path: &Path) -> Result<Dataset> {
    Dataset::from_bytes(&read(path)?).map_err(|e| match e {
        Error::InvalidDataset(m) => Error::InvalidDataset(format!("{}: {m}", path.display())),
        other => other,
    })
}

/// A model file of any kind, its path named in any error about its content.
fn load_model(path: &Path) -> Result<Model> {
    Model::from_bytes(&read(path)?).map_err(|e| match e {
        Error::InvalidModel(m) => Error::InvalidModel(format!("{}: {m}", path.display())),
        other => other,
    })
}
