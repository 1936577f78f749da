//! Project files (`src/project.rs`): a dataset file and a model file packed into one and given
//! back byte for byte; the same parts always give the same bytes; a model of other classes,
//! a part that cannot be read, every truncated prefix and a file of another kind are refused
//! by name; the CLI's `pack`/`unpack`, and `predict`/`eval` taking a project for a model.

mod common;

use common::cli::{ok, run, s, tmp};
use common::scenes::{scene, NAMES};
use image::ImageFormat;
use purrceptron::data::{from_class_photos, Dataset};
use purrceptron::model::{Model, ModelSpec, TrainingContext};
use purrceptron::preprocess::Framing;
use purrceptron::project::{Project, FORMAT};
use purrceptron::Error;
use serde_json::json;

/// A dataset of the first `classes` scene kinds, 6 photos each (64x64 PNGs), a third in test.
fn scenes(classes: usize) -> Dataset {
    let classes = (0..classes)
        .map(|label| {
            let photos: Vec<_> = (0..6)
                .map(|seed| {
                    let img = image::DynamicImage::ImageRgb8(scene(label, seed, 64, 64));
                    let png = common::images::encode(&img, ImageFormat::Png);
                    (format!("{seed}.png"), Ok(png))
                })
                .collect();
            (NAMES[label].to_string(), photos)
        })
        .collect();
    from_class_photos(classes, 0.34, 1, Framing::Crop)
        .unwrap()
        .0
}

/// Logistic regression, 20 iterations, on `d` (two classes): a real model file, quickly.
fn lr_model(d: &Dataset) -> Vec<u8> {
    let spec = ModelSpec::from_request(&json!({"model": "lr", "iterations": 20})).unwrap();
    let finished = spec
        .fit_with(
            d,
            TrainingContext::default(),
            || "2026-12-02T00:00:00Z".into(),
            |_| {},
        )
        .unwrap();
    finished.model.to_bytes().unwrap()
}

#[test]
fn a_project_gives_back_the_very_files_and_the_same_bytes_each_time() {
    let d = scenes(2);
    let dataset = d.to_bytes().unwrap();
    let model = lr_model(&d);
    let project = Project::new(dataset.clone(), Some(model.clone())).unwrap();
    let bytes = project.to_bytes().unwrap();
    assert_eq!(
        Project::new(dataset.clone(), Some(model.clone()))
            .unwrap()
            .to_bytes()
            .unwrap(),
        bytes,
        "the same parts gave other bytes"
    );
    let back = Project::from_bytes(&bytes).unwrap();
    assert_eq!(back.dataset_bytes(), &dataset[..]);
    assert_eq!(back.model_bytes(), Some(&model[..]));
    assert_eq!(back.dataset().classes, ["checks", "dots"]);
    assert_eq!(back.model().map(Model::kind), Some("network"));
    // The metadata describe the project without its parts being read.
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = meta.metadata().clone().unwrap();
    assert_eq!(meta["format"], FORMAT);
    assert_eq!(meta["version"], "1");
    assert_eq!(meta["classes"], r#"["checks","dots"]"#);
    assert_eq!(meta["dataset_sha256"], d.content_sha256());
    assert_eq!(meta["model_kind"], "network");

    // A project with no model yet.
    let bare = Project::new(dataset.clone(), None)
        .unwrap()
        .to_bytes()
        .unwrap();
    let back = Project::from_bytes(&bare).unwrap();
    assert_eq!(back.dataset_bytes(), &dataset[..]);
    assert!(back.model_bytes().is_none());
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bare).unwrap();
    assert!(!meta.metadata().clone().unwrap().contains_key("model_kind"));
}

#[test]
fn a_model_of_other_classes_or_a_bad_part_is_refused_by_name() {
    let two = scenes(2);
    let three = scenes(3);
    let model = lr_model(&two);
    let e = Project::new(three.to_bytes().unwrap(), Some(model.clone())).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidDataset(m) if m.contains("checks, dots") && m.contains("checks, dots, stripes")),
        "{e:?}"
    );
    // A model part that is not a model: the model reader's own error.
    let e = Project::new(two.to_bytes().unwrap(), Some(b"not a model".to_vec())).unwrap_err();
    assert!(matches!(e, Error::InvalidModel(_)), "{e:?}");
    // A dataset or model file where a project is expected, and the other way round.
    let e = Project::from_bytes(&two.to_bytes().unwrap()).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidProject(m) if m.contains("this is a dataset file")),
        "{e:?}"
    );
    let e = Project::from_bytes(&model).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidProject(m) if m.contains("this is a model file")),
        "{e:?}"
    );
    let project = Project::new(two.to_bytes().unwrap(), Some(model))
        .unwrap()
        .to_bytes()
        .unwrap();
    let e = Model::from_bytes(&project).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidModel(m) if m.contains("this is a project file")),
        "{e:?}"
    );
    let e = Dataset::from_bytes(&project).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidDataset(m) if m.contains("this is a project file")),
        "{e:?}"
    );
    assert_eq!(e.kind().as_str(), "dataset");
    assert_eq!(
        Project::from_bytes(b"").unwrap_err().kind().as_str(),
        "model"
    );
}

/// Every prefix of a project file (and the file with one byte flipped in each part's data) is
/// an error, never a panic.
#[test]
fn every_truncated_prefix_is_an_error() {
    let d = scenes(2);
    let bytes = Project::new(d.to_bytes().unwrap(), Some(lr_model(&d)))
        .unwrap()
        .to_bytes()
        .unwrap();
    for n in 0..bytes.len() {
        assert!(
            Project::from_bytes(&bytes[..n]).is_err(),
            "prefix of {n} bytes"
        );
    }
    let header = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    // The dataset part starts at the data (tensors sorted by name), its own header first: a
    // flipped byte in that header spoils the dataset, not the project's container.
    let mut spoiled = bytes.clone();
    spoiled[header + 9] ^= 0xff;
    let e = Project::from_bytes(&spoiled).unwrap_err();
    assert!(matches!(e, Error::InvalidDataset(_)), "{e:?}");
}

#[test]
fn the_cli_packs_unpacks_and_takes_a_project_for_a_model() {
    let dir = tmp("project");
    let d = scenes(2);
    let (data, model, project) = (
        dir.join("d.safetensors"),
        dir.join("m.safetensors"),
        dir.join("p.purrceptron"),
    );
    std::fs::write(&data, d.to_bytes().unwrap()).unwrap();
    std::fs::write(&model, lr_model(&d)).unwrap();
    let said = ok(&[
        "pack",
        "--data",
        s(&data),
        "--model",
        s(&model),
        "-o",
        s(&project),
    ]);
    assert!(said.contains("2 classes (checks, dots)"), "{said}");
    assert!(said.contains("a network model"), "{said}");
    let packed = std::fs::read(&project).unwrap();
    // The library's bytes (which the page's "Export project" writes too).
    let expected = Project::new(
        std::fs::read(&data).unwrap(),
        Some(std::fs::read(&model).unwrap()),
    )
    .unwrap()
    .to_bytes()
    .unwrap();
    assert_eq!(packed, expected);

    let out = dir.join("out");
    ok(&["unpack", s(&project), "-o", s(&out)]);
    assert_eq!(
        std::fs::read(out.join("dataset.safetensors")).unwrap(),
        std::fs::read(&data).unwrap()
    );
    assert_eq!(
        std::fs::read(out.join("model.safetensors")).unwrap(),
        std::fs::read(&model).unwrap()
    );

    // predict and eval take the project for its model (eval on its own dataset by default).
    let photo = dir.join("photo.png");
    let img = image::DynamicImage::ImageRgb8(scene(1, 99, 80, 72));
    std::fs::write(&photo, common::images::encode(&img, ImageFormat::Png)).unwrap();
    let by_model = ok(&["predict", s(&model), s(&photo), "--json"]);
    let by_project = ok(&["predict", s(&project), s(&photo), "--json"]);
    assert_eq!(by_project, by_model);
    let eval_model = ok(&["eval", s(&model), "--data", s(&data), "--json"]);
    assert_eq!(ok(&["eval", s(&project), "--json"]), eval_model);
    assert_eq!(
        ok(&["eval", s(&model), "--data", s(&project), "--json"]),
        eval_model
    );
    let o = run(&["eval", s(&model)]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("unless the model is a project file"));

    // A model of other classes is refused, and nothing is written.
    let three = dir.join("three.safetensors");
    std::fs::write(&three, scenes(3).to_bytes().unwrap()).unwrap();
    let refused = dir.join("refused.purrceptron");
    let o = run(&[
        "pack",
        "--data",
        s(&three),
        "--model",
        s(&model),
        "-o",
        s(&refused),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("the model's classes are checks, dots"));
    assert!(!refused.exists());
    // A project without a model cannot classify.
    let bare = dir.join("bare.purrceptron");
    ok(&["pack", "--data", s(&data), "-o", s(&bare)]);
    let o = run(&["predict", s(&bare), s(&photo)]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("this project has no model yet"));
    let _ = std::fs::remove_dir_all(&dir);
}
