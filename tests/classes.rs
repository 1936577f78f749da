//! Own classes, more than two: a dataset of three kinds of scene (tests/common/scenes.rs) built
//! from photos, the pretrained-feature model's softmax head trained on it through the one
//! training path and the CLI, its model file, its verdicts on photos it never saw, the CSV of a
//! folder's results, and the refusal of the two-class kinds.

mod common;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use common::cli::{ok, run, s, tmp};
use common::scenes::{scene, NAMES};
use image::ImageFormat;
use purrceptron::backbone::Backbone;
use purrceptron::data::{from_class_photos, Dataset};
use purrceptron::model::{classify, Model, ModelSpec, PixelModel, Results, TrainingContext};
use purrceptron::preprocess::Framing;
use purrceptron::Error;

fn backbone() -> Arc<Backbone> {
    static B: OnceLock<Arc<Backbone>> = OnceLock::new();
    Arc::clone(B.get_or_init(|| {
        Arc::new(Backbone::from_bytes(common::backbone::backbone_bytes()).unwrap())
    }))
}

/// A PNG of class `label`, drawn from `seed` at `w x h`.
fn png(label: usize, seed: u64, w: u32, h: u32) -> Vec<u8> {
    let img = image::DynamicImage::ImageRgb8(scene(label, seed, w, h));
    common::images::encode(&img, ImageFormat::Png)
}

/// `per_class` photos of each class (seeds `0..per_class`, 96x80), a quarter of each class in
/// the test split.
fn dataset(per_class: u64) -> Dataset {
    let classes = (0..NAMES.len())
        .map(|label| {
            let photos: Vec<_> = (0..per_class)
                .map(|seed| (format!("{seed:03}.png"), Ok(png(label, seed, 96, 80))))
                .collect();
            (NAMES[label].to_string(), photos)
        })
        .collect();
    let (d, skipped) = from_class_photos(classes, 0.25, 1, Framing::Crop).unwrap();
    assert!(skipped.is_empty());
    d
}

fn trained(d: &Dataset) -> purrceptron::model::Finished {
    let spec = ModelSpec::from_request(&serde_json::json!({"model": "pretrained"})).unwrap();
    let context = TrainingContext {
        backbone: Some(backbone()),
        test: Some(d.test.clone()),
        ..TrainingContext::default()
    };
    spec.fit_with(d, context, || "2026-12-02T00:00:00Z".into(), |_| {})
        .unwrap()
}

/// Three classes from 24 photos each: every test photo right (18 of them), the confusion
/// matrices count every image once, and photos drawn from other seeds at other sizes, as JPEG,
/// are classified right too. The probabilities are a softmax: they sum to 1.
#[test]
fn three_classes_are_told_apart_by_the_pretrained_model() {
    let d = dataset(24);
    assert_eq!(d.classes, NAMES);
    let f = trained(&d);
    let ev = &f.evaluation;
    assert_eq!(ev.classes, NAMES);
    assert_eq!((ev.n_train, ev.n_test), (54, 18));
    let test = ev.test_confusion.as_ref().unwrap();
    assert_eq!(test.len(), 3);
    assert_eq!(test.iter().flatten().sum::<usize>(), 18);
    assert_eq!(ev.train_confusion.iter().flatten().sum::<usize>(), 54);
    assert_eq!(ev.test_accuracy, Some(1.0), "{test:?}");
    let model = &f.model;
    assert_eq!(model.class_names(), NAMES);
    assert_eq!(model.classes(), 3);
    let Model::Pretrained(saved) = model else {
        panic!("a pretrained-feature model")
    };
    assert_eq!(saved.model.weights().len(), 3 * 1280);
    assert_eq!(saved.model.bias().len(), 3);
    let mut right = 0;
    for label in 0..3 {
        for seed in 100..105 {
            let img = scene(label, seed, 320, 240);
            let c = classify(model, &common::images::jpeg(&img, 90), Framing::Crop).unwrap();
            let sum: f64 = c.probabilities.iter().sum();
            assert!((sum - 1.0).abs() < 1e-12, "{:?}", c.probabilities);
            assert_eq!(c.probability, c.probabilities[c.class]);
            assert_eq!(c.label, NAMES[c.class]);
            right += usize::from(c.class == label);
        }
    }
    assert!(right >= 14, "{right} of 15 new photos right");
}

/// The model file keeps the three names and the softmax head: loaded, it gives the same
/// probabilities bit for bit; every truncated prefix is an error; a file whose names are not one
/// per output is refused.
#[test]
fn a_three_class_model_file_round_trips() {
    let f = trained(&dataset(12));
    let bytes = f.model.to_bytes().unwrap();
    let mut loaded = Model::from_bytes(&bytes).unwrap();
    assert_eq!(loaded, f.model);
    assert_eq!(loaded.class_names(), NAMES);
    loaded.attach_backbone(backbone()).unwrap();
    let photo = png(1, 500, 120, 90);
    let a = classify(&f.model, &photo, Framing::Crop).unwrap();
    let b = classify(&loaded, &photo, Framing::Crop).unwrap();
    let bits = |p: &[f64]| p.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a.probabilities), bits(&b.probabilities));
    assert_eq!(loaded.to_bytes().unwrap(), bytes);
    for n in (0..bytes.len()).step_by(97) {
        assert!(
            Model::from_bytes(&bytes[..n]).is_err(),
            "prefix of {n} bytes"
        );
    }
    // Two names for three outputs: the JSON list (escaped in the header's JSON) edited in
    // place, same length.
    let from = br#"[\"checks\",\"dots\",\"stripes\"]"#;
    let to = br#"[\"checks\",\"dots\"            ]"#;
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("the class names in the file");
    let mut bad = bytes.clone();
    bad[at..at + from.len()].copy_from_slice(to);
    let e = Model::from_bytes(&bad).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidModel(m) if m.contains("2 class names (checks, dots) for a model of 3 classes")),
        "{e:?}"
    );
}

/// The networks and the learned-feature model are two-class models: three classes are refused
/// before any work, with what to do.
#[test]
fn two_class_kinds_refuse_three_classes() {
    let d = dataset(6);
    for model in ["lr", "deep", "features"] {
        let spec = ModelSpec::from_request(&serde_json::json!({ "model": model })).unwrap();
        let e = spec
            .fit(&d, String::new, |_| {})
            .expect_err("three classes refused");
        let msg = e.to_string();
        assert!(
            msg.contains("3 classes (checks, dots, stripes)") && msg.contains("pretrained"),
            "{model}: {msg}"
        );
    }
    // A two-class model evaluated on them: refused, not a meaningless accuracy.
    let two = dataset_two();
    let spec = ModelSpec::from_request(&serde_json::json!({"model": "lr"})).unwrap();
    let f = spec.fit(&two, String::new, |_| {}).unwrap();
    let e = purrceptron::model::evaluate(&f.model, &d).unwrap_err();
    assert!(e.to_string().contains("tells apart 2 classes"), "{e}");
    assert!(f.model.check_dataset(&d).is_err());
    assert!(f.model.check_dataset(&two).is_ok());
}

/// Two of the scene classes, for a two-class model.
fn dataset_two() -> Dataset {
    let classes = (0..2)
        .map(|label| {
            let photos: Vec<_> = (0..8)
                .map(|seed| (format!("{seed}.png"), Ok(png(label, seed, 64, 64))))
                .collect();
            (NAMES[label].to_string(), photos)
        })
        .collect();
    from_class_photos(classes, 0.25, 1, Framing::Crop)
        .unwrap()
        .0
}

/// The CLI end to end: `convert --images` with a folder per class, `train --model pretrained`,
/// `eval` with each class's accuracy and the confusion matrix, `predict` of a folder as lines,
/// JSON (every class's probability) and CSV (rows sorted by file, a bad file's error kept, the
/// same bytes as [`Results`] writes from the library's own classifications).
#[test]
fn convert_train_eval_and_predict_three_classes() {
    let dir = tmp("classes");
    let photos = dir.join("photos");
    for (label, name) in NAMES.iter().enumerate() {
        let sub = photos.join(name);
        std::fs::create_dir_all(&sub).unwrap();
        for seed in 0..12 {
            std::fs::write(sub.join(format!("{seed:02}.png")), png(label, seed, 96, 80)).unwrap();
        }
    }
    let (data, backbone_file, model) = (
        dir.join("data.safetensors"),
        dir.join("backbone.safetensors"),
        dir.join("model.safetensors"),
    );
    std::fs::write(&backbone_file, common::backbone::backbone_bytes()).unwrap();
    let out = ok(&["convert", "--images", s(&photos), "-o", s(&data)]);
    assert!(out.contains("3 classes"), "{out}");
    let b = ["--backbone", s(&backbone_file)];
    ok(&[
        &[
            "train",
            "--data",
            s(&data),
            "--model",
            "pretrained",
            "-o",
            s(&model),
        ][..],
        &b,
    ]
    .concat());
    let eval = ok(&[&["eval", s(&model), "--data", s(&data)][..], &b].concat());
    for want in [
        "test split, per class:",
        "confusion matrix (rows: true class, columns: predicted)",
        "   checks     dots  stripes",
    ] {
        assert!(eval.contains(want), "{want:?} in\n{eval}");
    }
    // New photos in a folder, with a file that is not a photo.
    let new = dir.join("new");
    std::fs::create_dir_all(&new).unwrap();
    for (label, name) in NAMES.iter().enumerate() {
        for seed in [200, 201] {
            let img = scene(label, seed, 200, 150);
            std::fs::write(
                new.join(format!("{name}-{seed}.jpg")),
                common::images::jpeg(&img, 90),
            )
            .unwrap();
        }
    }
    std::fs::write(new.join("notes.txt"), b"not a photo").unwrap();
    let csv_out = run(&[&["predict", s(&model), s(&new), "--csv"][..], &b].concat());
    assert_eq!(csv_out.status.code(), Some(2), "one file is not a photo");
    let csv = String::from_utf8(csv_out.stdout).unwrap();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(lines[0], "file,class,checks,dots,stripes,error");
    assert_eq!(lines.len(), 1 + 7 + 1, "{csv}");
    let notes = lines
        .iter()
        .find(|l| l.contains("notes.txt"))
        .expect("the bad file's row");
    // The message has a comma and a semicolon: quoted.
    assert!(
        notes.ends_with("notes.txt,,,,,\"unsupported image format: not an image: the file looks like text (unrecognised format; use JPEG, PNG, GIF, WebP or BMP)\""),
        "{notes}"
    );
    // The library's own classifications written by Results: the same bytes.
    let mut loaded = Model::from_bytes(&std::fs::read(&model).unwrap()).unwrap();
    loaded.attach_backbone(backbone()).unwrap();
    let mut results = Results::new(loaded.class_names());
    let mut right = 0;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&new)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files.iter().rev() {
        let shown = path.display().to_string();
        match classify(&loaded, &std::fs::read(path).unwrap(), Framing::Crop) {
            Ok(c) => {
                right += usize::from(shown.contains(&format!("/{}-", c.label)));
                results.add(&shown, &c);
            }
            Err(e) => results.add_error(&shown, &e.to_string()),
        }
    }
    assert_eq!(results.to_csv(), csv);
    assert!(right >= 5, "{right} of 6 new photos right:\n{csv}");
    let json = ok(&[
        &["predict", s(&model), s(&new.join("dots-200.jpg")), "--json"][..],
        &b,
    ]
    .concat());
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let p = &v["probabilities"];
    let sum: f64 = NAMES.iter().map(|n| p[n].as_f64().unwrap()).sum();
    assert!((sum - 1.0).abs() < 1e-12, "{v}");
    assert_eq!(v["label"], NAMES[v["class"].as_u64().unwrap() as usize]);
    let lines = ok(&[
        &["predict", s(&model), s(&new.join("dots-200.jpg"))][..],
        &b,
    ]
    .concat());
    let fields: Vec<&str> = lines.trim_end().split('\t').collect();
    assert_eq!(fields[2], v["label"]);
    assert_eq!(
        fields[1],
        format!("{:.6}", v["probability"].as_f64().unwrap())
    );
}
