//! The `purrceptron` binary end to end: convert, train, eval, predict, exit codes, --json.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use image::{ImageFormat, RgbImage};
use purrceptron::model::Model;
use purrceptron::model::PixelModel;
use purrceptron::preprocess::{preprocess, Framing};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_purrceptron"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("purrceptron-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the CLI, which must fail with exit code 1 and a message containing `needle`.
fn fails_with(args: &[&str], needle: &str) {
    let o = run(args);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains(needle), "{}", stderr(&o));
}

/// Runs the CLI, which must succeed, and parses what it printed as JSON.
fn run_json(args: &[&str]) -> serde_json::Value {
    let o = run(args);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&o)))
}

/// A path as a CLI argument (the tests' paths are UTF-8).
fn s(path: &Path) -> &str {
    path.to_str().unwrap_or_default()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A photo made from test image `i`, upscaled to 200x150 (so it goes through crop and resize).
fn photo(i: usize, path: &Path) {
    let d = common::catvnoncat();
    let px = d.test.image(i);
    let img = RgbImage::from_fn(200, 150, |x, y| {
        let (r, c) = ((y * 64 / 150) as usize, (x * 64 / 200) as usize);
        let o = (r * 64 + c) * 3;
        image::Rgb([px[o], px[o + 1], px[o + 2]])
    });
    img.save_with_format(path, ImageFormat::Png).unwrap();
}

/// The tensor `name` of a safetensors file of F64 values, flattened.
fn f64_tensor(file: &[u8], name: &str) -> Vec<f64> {
    let st = safetensors::SafeTensors::deserialize(file).unwrap();
    let t = st.tensor(name).unwrap();
    assert_eq!(t.dtype(), safetensors::Dtype::F64, "{name}");
    t.data()
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// P(cat) of `photo` under the logistic-regression model file `model`, computed here apart
/// from the library's inference: `sigmoid(b + sum_j w_j x_j / 255)` over the weights read
/// straight from the file and the 64x64 image that preprocessing (the CLI's default, crop)
/// gives. Only the summation order differs from the library's, hence the tolerances below.
fn logistic_probability(model: &[u8], photo: &Path) -> f64 {
    let (w, b) = (f64_tensor(model, "W1"), f64_tensor(model, "b1"));
    let p = preprocess(&std::fs::read(photo).unwrap(), Framing::Crop).unwrap();
    assert_eq!((w.len(), b.len()), (p.pixels.len(), 1));
    let z = b[0]
        + w.iter()
            .zip(&p.pixels)
            .map(|(w, &x)| w * (f64::from(x) / 255.0))
            .sum::<f64>();
    1.0 / (1.0 + (-z).exp())
}

#[test]
fn convert_train_eval_predict() {
    let dir = tmp("flow");
    let data = dir.join("cats.safetensors");
    let model = dir.join("lr.safetensors");
    let data_dir = common::data_dir();

    let v = run_json(&["convert", "--h5", s(&data_dir), "-o", s(&data), "--json"]);
    assert_eq!(v["train"]["n"], 209);
    assert_eq!(v["train"]["cats"], 72);
    assert_eq!(v["test"]["n"], 50);
    assert_eq!(v["test"]["cats"], 33);

    let o = run(&["train", "--data", s(&data), "-o", s(&model)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("train accuracy  99.0%"), "{out}");
    assert!(out.contains("test accuracy   70.0%"), "{out}");
    assert!(out.contains("scores 66.0%"), "{out}");
    // The file holds numpy's model (tests/reference/numpy_reference.py, same settings).
    let model_bytes = std::fs::read(&model).unwrap();
    let w: f64 = f64_tensor(&model_bytes, "W1").iter().sum();
    common::assert_rel(
        w,
        common::num("/logistic_regression/final_w_sum"),
        1e-7,
        "sum of w",
    );
    common::assert_rel(
        f64_tensor(&model_bytes, "b1")[0],
        common::num("/logistic_regression/final_b"),
        1e-7,
        "b",
    );

    let v = run_json(&["eval", s(&model), "--data", s(&data), "--json"]);
    assert_eq!(v["evaluation"]["test_accuracy"], 0.7);
    assert_eq!(v["receipt"]["test_accuracy"], 0.7);

    // Two photos and two bad files: every line is there, errors do not stop the rest.
    let good_a = dir.join("a.png");
    let good_b = dir.join("b.png");
    photo(0, &good_a);
    photo(1, &good_b);
    let text = dir.join("notes.jpg");
    std::fs::write(&text, "this is not a photo").unwrap();
    let missing = dir.join("missing.png");
    let o = run(&[
        "predict",
        s(&model),
        s(&good_a),
        s(&text),
        s(&missing),
        s(&good_b),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    for (i, path) in [(0, &good_a), (3, &good_b)] {
        let p = lines[i]["probability"].as_f64().unwrap();
        let want = logistic_probability(&model_bytes, path);
        assert!(
            (p - want).abs() <= 1e-12,
            "{}: {p} vs {want}",
            path.display()
        );
        assert_eq!(
            lines[i]["label"],
            if want > 0.5 { "cat" } else { "non-cat" }
        );
        assert_eq!(lines[i]["width"], 200);
    }
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .contains("unsupported image format"),
        "{:?}",
        lines[1]
    );
    assert!(
        lines[2]["error"].as_str().unwrap().contains("missing.png"),
        "{:?}",
        lines[2]
    );

    // Plain output: path, probability, label, tab-separated.
    let o = run(&["predict", s(&model), s(&good_a)]);
    assert!(o.status.success());
    let line = stdout(&o);
    let cols: Vec<&str> = line.trim_end().split('\t').collect();
    assert_eq!(cols.len(), 3, "{line}");
    assert_eq!(cols[0], s(&good_a));
    // Printed with 6 decimals.
    let p: f64 = cols[1].parse().unwrap();
    let want = logistic_probability(&model_bytes, &good_a);
    assert!((p - want).abs() <= 5.1e-7, "{p} vs {want}");
    assert_eq!(cols[1], format!("{want:.6}"));
    assert_eq!(cols[2], if want > 0.5 { "cat" } else { "non-cat" });
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_input_gives_a_message_and_a_failure_code() {
    let dir = tmp("bad");
    let bogus = dir.join("bogus.safetensors");
    std::fs::write(&bogus, b"\x10\x00\x00\x00\x00\x00\x00\x00{}").unwrap();
    let model = dir.join("m.safetensors");

    fails_with(
        &["train", "--data", s(&bogus), "-o", s(&model)],
        "invalid dataset file",
    );

    fails_with(
        &["eval", s(&bogus), "--data", s(&bogus)],
        "invalid model file",
    );

    let data = dir.join("cats.safetensors");
    let o = run(&["convert", "--h5", s(&common::data_dir()), "-o", s(&data)]);
    assert!(o.status.success());
    fails_with(
        &["train", "--data", s(&data), "--lr=-1", "-o", s(&model)],
        "learning_rate = -1",
    );
    assert!(!model.exists(), "no model is written when training fails");

    fails_with(
        &["convert", "--h5", s(&dir), "-o", s(&data)],
        "train_catvnoncat.h5",
    );

    // A corrupt HDF5 file (the real one, truncated) is refused with the file named.
    let h5dir = dir.join("h5");
    std::fs::create_dir_all(&h5dir).unwrap();
    let train = std::fs::read(common::data_dir().join("train_catvnoncat.h5")).unwrap();
    std::fs::write(h5dir.join("train_catvnoncat.h5"), &train[..train.len() / 2]).unwrap();
    std::fs::copy(
        common::data_dir().join("test_catvnoncat.h5"),
        h5dir.join("test_catvnoncat.h5"),
    )
    .unwrap();
    let o = run(&["convert", "--h5", s(&h5dir), "-o", s(&data)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot convert") && stderr(&o).contains("train_catvnoncat.h5"),
        "{}",
        stderr(&o)
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn convert_images_builds_a_seeded_split_and_skips_bad_files() {
    let dir = tmp("images");
    for class in ["cat", "non-cat"] {
        std::fs::create_dir_all(dir.join(class)).unwrap();
    }
    for i in 0..10 {
        photo(
            i,
            &dir.join(if i % 2 == 0 { "cat" } else { "non-cat" })
                .join(format!("{i}.png")),
        );
    }
    std::fs::write(dir.join("cat/broken.jpg"), b"\xff\xd8\xff\xe0 truncated").unwrap();
    let out = dir.join("own.safetensors");
    let args = |seed: &str| {
        run(&[
            "convert",
            "--images",
            s(&dir),
            "--test-fraction",
            "0.4",
            "--seed",
            seed,
            "-o",
            s(&out),
            "--json",
        ])
    };
    let o = args("3");
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["train"]["n"], 6);
    assert_eq!(v["test"]["n"], 4);
    assert_eq!(v["test"]["cats"], 2);
    assert_eq!(v["skipped"].as_array().unwrap().len(), 1);
    assert!(v["skipped"][0]["file"]
        .as_str()
        .unwrap()
        .ends_with("broken.jpg"));
    let first = std::fs::read(&out).unwrap();
    let d = purrceptron::data::Dataset::from_bytes(&first).unwrap();
    assert_eq!(d.train.len() + d.test.len(), 10);
    // Same seed, same blob; another seed, another split.
    assert!(args("3").status.success());
    assert_eq!(std::fs::read(&out).unwrap(), first);
    assert_eq!(
        purrceptron::data::Dataset::from_bytes(&std::fs::read(&out).unwrap()).unwrap(),
        d
    );
    assert!(args("4").status.success());
    let other = purrceptron::data::Dataset::from_bytes(&std::fs::read(&out).unwrap()).unwrap();
    assert_ne!(other.test, d.test);
    // The blob trains like the built-in one.
    let model = dir.join("m.safetensors");
    let o = run(&["train", "--data", s(&out), "--iters", "50", "-o", s(&model)]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn convert_images_takes_one_folder_per_named_class() {
    let dir = tmp("classes");
    // Three classes, named by their folders; a hidden folder and a loose file are not classes.
    for (c, class) in ["ripe", "unripe", "no fruit"].iter().enumerate() {
        std::fs::create_dir_all(dir.join(class)).unwrap();
        for i in 0..4 {
            photo(c * 4 + i, &dir.join(class).join(format!("{i}.png")));
        }
    }
    std::fs::create_dir_all(dir.join(".thumbnails")).unwrap();
    std::fs::write(dir.join("notes.txt"), b"not a class").unwrap();
    let out = dir.join("fruit.safetensors");
    let v = run_json(&[
        "convert",
        "--images",
        s(&dir),
        "--test-fraction",
        "0.25",
        "-o",
        s(&out),
        "--json",
    ]);
    // Ordered by name: "no fruit" 0, "ripe" 1, "unripe" 2; round(0.25 * 4) = 1 test photo each.
    assert_eq!(
        v["classes"],
        serde_json::json!(["no fruit", "ripe", "unripe"])
    );
    assert_eq!(v["train"]["per_class"], serde_json::json!([3, 3, 3]));
    assert_eq!(v["test"]["per_class"], serde_json::json!([1, 1, 1]));
    let o = run(&["convert", "--images", s(&dir), "-o", s(&out)]);
    assert!(
        stdout(&o).contains("3 classes: train 9 images (3 no fruit, 3 ripe, 3 unripe)"),
        "{}",
        stdout(&o)
    );
    let d = purrceptron::data::Dataset::from_bytes(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(d.classes, ["no fruit", "ripe", "unripe"]);
    // Today's models are two-class models: they say so instead of training.
    fails_with(
        &[
            "train",
            "--data",
            s(&out),
            "-o",
            s(&dir.join("m.safetensors")),
        ],
        "two-class",
    );
    // One folder is not a set of classes.
    let one = tmp("one-class");
    std::fs::create_dir_all(one.join("cat")).unwrap();
    fails_with(
        &["convert", "--images", s(&one), "-o", s(&out)],
        "at least 2",
    );
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_dir_all(&one).ok();
}

#[test]
fn features_train_eval_predict() {
    let dir = tmp("features");
    let data = dir.join("cats.safetensors");
    let model = dir.join("features.safetensors");
    std::fs::write(&data, common::catvnoncat().to_bytes().unwrap()).unwrap();
    // A small model (fast); the defaults are exercised by tests/features.rs.
    let trained = run_json(&[
        "train",
        "--model",
        "features",
        "--filters",
        "16",
        "--patches",
        "2000",
        "--kmeans-iters",
        "2",
        "--data",
        s(&data),
        "-o",
        s(&model),
        "--json",
    ]);
    assert_eq!(trained["params"]["filters"], 16);
    let test_acc = trained["evaluation"]["test_accuracy"].as_f64().unwrap();
    assert!(test_acc > 0.66, "{test_acc}");
    assert_eq!(trained["evaluation"]["test_majority_baseline"], 0.66);
    let objective: Vec<f64> = serde_json::from_value(trained["kmeans_objective"].clone()).unwrap();
    assert_eq!(objective.len(), 2);
    assert!(objective[1] >= objective[0]);

    // eval on the saved file agrees with the training run's own evaluation.
    let v = run_json(&["eval", s(&model), "--data", s(&data), "--json"]);
    assert_eq!(v["evaluation"], trained["evaluation"]);

    let photo_path = dir.join("a.png");
    photo(0, &photo_path);
    let o = run(&["predict", s(&model), s(&photo_path), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let p = v["probability"].as_f64().unwrap();
    // The same file and photo through the library (its model-file reader, preprocessing and
    // logits): the CLI must print exactly that number (JSON numbers round-trip f64 exactly).
    let loaded = Model::from_bytes(&std::fs::read(&model).unwrap()).unwrap();
    let pixels = preprocess(&std::fs::read(&photo_path).unwrap(), Framing::Crop)
        .unwrap()
        .pixels;
    let z = loaded.scores_pixels(&pixels).unwrap()[0];
    let want = 1.0 / (1.0 + (-z).exp());
    assert!((p - want).abs() <= 1e-15, "{p} vs {want}");
    assert_eq!(v["label"], if want > 0.5 { "cat" } else { "non-cat" });

    // Knobs of the other models are refused, not ignored; bad values are named.
    fails_with(
        &[
            "train",
            "--model",
            "features",
            "--lr",
            "10",
            "--data",
            s(&data),
            "-o",
            s(&dir.join("x.safetensors")),
        ],
        "lr",
    );
    fails_with(
        &[
            "train",
            "--model",
            "features",
            "--filters",
            "0",
            "--data",
            s(&data),
            "-o",
            s(&dir.join("x.safetensors")),
        ],
        "filters = 0",
    );
    assert!(!dir.join("x.safetensors").exists());
    std::fs::remove_dir_all(&dir).ok();
}
