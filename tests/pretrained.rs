//! The pretrained-feature model: accuracy on the real catvnoncat data (official split and
//! random resplits), the head-only retrain, the model file round trip, a backbone that is not
//! the one the model was trained with, the heat map, and what a request may carry.

mod common;

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use purrceptron::backbone::{Backbone, Scratch, FEATURES};
use purrceptron::model::{Model, ModelSpec, PixelModel, Receipt, SavedPretrained, TrainingContext};
use purrceptron::preprocess::{PIXELS, SIDE};
use purrceptron::pretrained::{ExtractedFeatures, PretrainedParams, PretrainedTrainer};
use purrceptron::rng::Mt19937;
use purrceptron::Error;
use serde_json::json;

fn backbone() -> Arc<Backbone> {
    static B: OnceLock<Arc<Backbone>> = OnceLock::new();
    B.get_or_init(|| {
        Arc::new(Backbone::from_bytes(common::backbone::backbone_bytes()).expect("the backbone"))
    })
    .clone()
}

/// Pooled features (`FEATURES` each) of `pixels` (64x64 images) at 128 px.
fn extract(pixels: &[u8]) -> Vec<f32> {
    let b = backbone();
    let mut scratch = Scratch::default();
    pixels
        .chunks_exact(PIXELS)
        .flat_map(|img| {
            b.features_with(img, SIDE, 128, &mut scratch)
                .unwrap()
                .pooled
        })
        .collect()
}

/// A head fitted on the first 20 training images (a small, quick model), without receipt.
fn small_model() -> &'static SavedPretrained {
    static M: OnceLock<SavedPretrained> = OnceLock::new();
    M.get_or_init(|| {
        let d = common::catvnoncat();
        let n = 20;
        let t = PretrainedParams::builder()
            .build()
            .unwrap()
            .fit(
                backbone(),
                &d.train.pixels[..n * PIXELS],
                &d.train.labels[..n],
                None,
                |_| {},
            )
            .unwrap();
        SavedPretrained {
            model: t.model,
            cross_validation: t.report.cross_validation,
            receipt: Receipt::default(),
            classes: purrceptron::data::CLASSES.map(String::from).to_vec(),
        }
    })
}

/// Accuracy on the official split (209 train / 50 test) at the default side 128. The numpy
/// prototype of the same recipe (tests/reference/backbone_reference.py's network, int8 weights,
/// 5-fold CV over the same C grid; an independent float32 implementation) scored 98% on the test
/// split; the acceptance bound is 97%. Also the head-only retrain from the features the first
/// training extracted: the same model, and its time (target <= 100 ms, printed, not asserted on
/// a shared machine).
#[test]
#[cfg_attr(
    not(feature = "full-tests"),
    ignore = "full tier: cargo test --release --features full-tests"
)]
fn official_split_accuracy_and_head_only_retrain() {
    let d = common::catvnoncat();
    let spec = ModelSpec::from_request(&json!({"model": "pretrained"})).unwrap();
    let context = TrainingContext {
        backbone: Some(backbone()),
        features: None,
        test: Some(d.test.clone()),
        pixel_gram: None,
    };
    let t0 = Instant::now();
    let mut training = spec.start_with(&d.train, context).unwrap();
    let mut stages = Vec::new();
    while !training.is_done() {
        training.step(1).unwrap();
        let p = training.progress();
        if stages.last() != p.stage.as_ref() {
            stages.push(p.stage.unwrap_or_default());
        }
    }
    assert_eq!(stages, ["extracting", "fitting", "done"]);
    let cached = training
        .features()
        .cloned()
        .expect("the extracted features");
    assert_eq!(cached.len(), d.train.len());
    assert_eq!(cached.test_rows.len(), d.test.len() * FEATURES);
    assert_eq!(cached.backbone_sha256, backbone().sha256());
    let finished = training
        .finish(d, d.content_sha256(), String::new())
        .unwrap();
    let secs = t0.elapsed().as_secs_f64();
    let acc = finished.evaluation.test_accuracy.unwrap();
    println!(
        "official split: test accuracy {:.1}%, train {:.1}% ({secs:.1} s)",
        100.0 * acc,
        100.0 * finished.evaluation.train_accuracy
    );
    assert!(acc >= 0.97, "test accuracy {acc} < 0.97");
    // The test accuracy came from the features extracted in training: the pixel path (photo
    // preprocessing, the backbone again) agrees.
    let Model::Pretrained(saved) = &finished.model else {
        panic!("not a pretrained-feature model")
    };
    let by_pixels = saved
        .model
        .accuracy_pixels(&d.test.pixels, &d.test.labels)
        .unwrap();
    assert_eq!(acc, by_pixels);
    // So do the probabilities the page's inspection takes from the kept test features.
    let from_pixels: Vec<f64> = saved
        .model
        .logits_pixels(&d.test.pixels)
        .unwrap()
        .iter()
        .flat_map(|&z| {
            let p = purrceptron::logistic::sigmoid(z);
            [1.0 - p, p]
        })
        .collect();
    let from_features = saved
        .model
        .probabilities_of_features(&cached.test_rows)
        .unwrap();
    assert_eq!(from_features, from_pixels);

    let t0 = Instant::now();
    let context = TrainingContext {
        backbone: Some(backbone()),
        features: Some(cached),
        test: Some(d.test.clone()),
        pixel_gram: None,
    };
    let mut again = spec.start_with(&d.train, context).unwrap();
    assert_eq!(again.progress().stage, Some("fitting"));
    while !again.is_done() {
        again.step_default().unwrap();
    }
    let again = again.finish(d, d.content_sha256(), String::new()).unwrap();
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    println!("head-only retrain from cached features (fit and evaluation): {ms:.1} ms");
    assert_eq!(again.model, finished.model);
    assert_eq!(again.evaluation, finished.evaluation);
}

/// Mean test accuracy over 20 random 209/50 resplits of the 259 images (features extracted
/// once; seeds 1..=20 of the crate's MT19937 shuffle, no stratification). The numpy prototype
/// averaged 98.3% at 128 px with int8 weights (its own random splits); the bound is 97%.
/// Beside it, the same resplits fitted with each training image's mirror too (`flip`): the
/// figure that keeps `flip` off by default (README, "Mirrored training images").
#[test]
#[cfg_attr(
    not(feature = "full-tests"),
    ignore = "full tier: cargo test --release --features full-tests"
)]
fn mean_accuracy_over_twenty_resplits() {
    let d = common::catvnoncat();
    let mut pixels = d.train.pixels.clone();
    pixels.extend_from_slice(&d.test.pixels);
    let mut labels = d.train.labels.clone();
    labels.extend_from_slice(&d.test.labels);
    let features = extract(&pixels);
    let mirrored: Vec<u8> = pixels.chunks_exact(PIXELS).flat_map(mirror).collect();
    let mirrored_features = extract(&mirrored);
    let mut accs = [Vec::new(), Vec::new()];
    for seed in 1..=20u32 {
        let mut order: Vec<usize> = (0..labels.len()).collect();
        Mt19937::new(seed).shuffle(&mut order);
        let (train, test) = order.split_at(209);
        let rows = |features: &[f32], idx: &[usize]| -> Vec<f32> {
            idx.iter()
                .flat_map(|&i| features[i * FEATURES..(i + 1) * FEATURES].to_vec())
                .collect()
        };
        let train_pixels: Vec<u8> = train
            .iter()
            .flat_map(|&i| pixels[i * PIXELS..(i + 1) * PIXELS].to_vec())
            .collect();
        let train_labels: Vec<u8> = train.iter().map(|&i| labels[i]).collect();
        for (flip, accs) in [false, true].into_iter().zip(&mut accs) {
            let cached = ExtractedFeatures {
                backbone_sha256: backbone().sha256().to_string(),
                side: 128,
                rows: rows(&features, train),
                test_rows: Vec::new(),
                mirrored_rows: if flip {
                    rows(&mirrored_features, train)
                } else {
                    Vec::new()
                },
            };
            let params = PretrainedParams::builder().flip(flip).build().unwrap();
            let t = params
                .fit(
                    backbone(),
                    &train_pixels,
                    &train_labels,
                    Some(cached),
                    |_| {},
                )
                .unwrap();
            let right = test
                .iter()
                .filter(|&&i| {
                    let z = t
                        .model
                        .logits_from_features(&features[i * FEATURES..(i + 1) * FEATURES]);
                    u8::from(z[0] > 0.0) == labels[i]
                })
                .count();
            accs.push(right as f64 / test.len() as f64);
        }
    }
    for (name, accs) in ["plain", "with mirrors (flip)"].iter().zip(&accs) {
        let mean = accs.iter().sum::<f64>() / accs.len() as f64;
        let min = accs.iter().copied().fold(1.0, f64::min);
        let max = accs.iter().copied().fold(0.0, f64::max);
        println!(
            "20 resplits, {name}: mean {:.2}%, min {:.0}%, max {:.0}%",
            100.0 * mean,
            100.0 * min,
            100.0 * max
        );
        assert!(
            mean >= 0.97,
            "{name}: mean accuracy {mean} < 0.97 ({accs:?})"
        );
    }
}

/// The left-right mirror of a 64x64x3 image, written out index by index (an independent
/// version of the trainer's).
fn mirror(image: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(PIXELS);
    for r in 0..SIDE {
        for c in 0..SIDE {
            let at = (r * SIDE + SIDE - 1 - c) * 3;
            out.extend_from_slice(&image[at..at + 3]);
        }
    }
    out
}

/// With `flip`, the extraction adds each training image's mirror (the backbone's features of the
/// image mirrored here), the head is fitted on both, and training from features kept without
/// the mirrors extracts just those and gives the same model bit for bit; the mirrors change the
/// model, and features with a wrong number of mirrors are refused.
#[test]
fn flip_fits_each_training_image_and_its_mirror() {
    let d = common::catvnoncat();
    let n = 20;
    let (pixels, labels) = (&d.train.pixels[..n * PIXELS], &d.train.labels[..n]);
    let test = purrceptron::data::Split {
        pixels: d.test.pixels[..4 * PIXELS].to_vec(),
        labels: d.test.labels[..4].to_vec(),
    };
    let train = purrceptron::data::Split {
        pixels: pixels.to_vec(),
        labels: labels.to_vec(),
    };
    let run = |flip: bool, cached: Option<ExtractedFeatures>| {
        let params = PretrainedParams::builder().flip(flip).build().unwrap();
        let mut t =
            PretrainedTrainer::with_test(params, backbone(), &train, &test, 2, cached).unwrap();
        let mut extracting_from = None;
        while !t.is_done() {
            if extracting_from.is_none() {
                extracting_from = Some(t.progress().done);
            }
            t.step(1.0).unwrap();
        }
        (t.finish().unwrap(), extracting_from.unwrap())
    };
    let (flipped, _) = run(true, None);
    let mirrored: Vec<u8> = pixels.chunks_exact(PIXELS).flat_map(mirror).collect();
    assert_eq!(flipped.features.rows, extract(pixels));
    assert_eq!(flipped.features.test_rows, extract(&test.pixels));
    assert_eq!(flipped.features.mirrored_rows, extract(&mirrored));
    assert!(flipped.report.test_accuracy.is_some());

    let (plain, _) = run(false, None);
    assert!(plain.features.mirrored_rows.is_empty());
    assert_ne!(plain.model, flipped.model, "the mirrors changed nothing");

    // From the plain training's features, only the mirrors are extracted: the work done so
    // far starts at the 24 images' share, and the result is the same.
    let (resumed, started_at) = run(true, Some(plain.features.clone()));
    assert!(started_at > 0.0, "the kept features were extracted again");
    assert_eq!(resumed.model, flipped.model);
    assert_eq!(resumed.features, flipped.features);
    // Kept features with mirrors serve a plain training too (the mirrors unused).
    let (plain_again, _) = run(false, Some(flipped.features.clone()));
    assert_eq!(plain_again.model, plain.model);

    let mut short = flipped.features.clone();
    short.mirrored_rows.truncate(FEATURES);
    let params = PretrainedParams::builder().flip(true).build().unwrap();
    let e = PretrainedTrainer::with_test(params, backbone(), &train, &test, 2, Some(short))
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidParameter { value, .. } if value == "1280 mirror values"),
        "{e:?}"
    );
}

/// Save, load, attach: the same probabilities bit for bit; without the backbone a clear error.
#[test]
fn the_model_file_round_trips_and_needs_its_backbone() {
    let d = common::catvnoncat();
    let saved = small_model();
    let model = Model::Pretrained(saved.clone());
    let bytes = model.to_bytes().unwrap();
    let mut loaded = Model::from_bytes(&bytes).unwrap();
    assert_eq!(loaded, model);
    assert_eq!(loaded.backbone_sha256(), Some(backbone().sha256()));
    let images = &d.test.pixels[..5 * PIXELS];
    let e = loaded.scores_pixels(images).unwrap_err();
    assert!(matches!(e, Error::NoBackbone), "{e:?}");
    assert!(e.to_string().contains("backbone.safetensors"), "{e}");
    loaded.attach_backbone(backbone()).unwrap();
    let a = model.scores_pixels(images).unwrap();
    let b = loaded.scores_pixels(images).unwrap();
    let bits = |z: &[f64]| z.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a), bits(&b));
    // Saved again, the same bytes.
    assert_eq!(loaded.to_bytes().unwrap(), bytes);
}

/// A model file whose backbone hash was changed is refused when the backbone is attached, with
/// both hashes in the message; the other kinds ignore the backbone.
#[test]
fn a_backbone_other_than_the_trained_one_is_refused() {
    let saved = small_model();
    let mut bytes = Model::Pretrained(saved.clone()).to_bytes().unwrap();
    let sha = backbone().sha256().to_string();
    let at = bytes
        .windows(64)
        .position(|w| w == sha.as_bytes())
        .expect("the sha256 in the file");
    let other = "0123456789abcdef".repeat(4);
    bytes[at..at + 64].copy_from_slice(other.as_bytes());
    let mut tampered = Model::from_bytes(&bytes).unwrap();
    let e = tampered.attach_backbone(backbone()).unwrap_err();
    assert_eq!(e.kind().as_str(), "model");
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("this model was trained with backbone {other}"))
            && msg.contains(&format!("the backbone file is {sha}")),
        "{msg}"
    );
    assert!(tampered.scores_pixels(&[0; PIXELS]).is_err());
    // A hash that is not a sha256 is a bad model file.
    let mut bad = bytes.clone();
    bad[at] = b'X';
    assert!(matches!(
        Model::from_bytes(&bad),
        Err(Error::InvalidModel(_))
    ));
}

/// Every truncated prefix of a model file is an error, never a panic.
#[test]
fn truncated_model_files_are_errors() {
    let bytes = Model::Pretrained(small_model().clone()).to_bytes().unwrap();
    for n in 0..bytes.len() {
        assert!(
            Model::from_bytes(&bytes[..n]).is_err(),
            "prefix of {n} bytes"
        );
    }
}

/// The heat map's mean over positions is the photo's logit (the head is affine and the pooled
/// features are the map's mean), up to the f32 rounding of the pooling.
#[test]
fn the_heat_map_averages_to_the_logit() {
    let d = common::catvnoncat();
    let model = &small_model().model;
    let mut scratch = Scratch::default();
    for i in 0..4 {
        let f = model.features(d.test.image(i), SIDE, &mut scratch).unwrap();
        let heat = model.heat_map(&f, 0);
        assert_eq!((f.side, heat.len()), (4, 16));
        let mean = heat.iter().map(|&v| f64::from(v)).sum::<f64>() / heat.len() as f64;
        let logit = model.logits_from_features(&f.pooled)[0];
        assert!(
            (mean - logit).abs() < 1e-3 * logit.abs().max(1.0),
            "{mean} vs {logit}"
        );
        assert_eq!(model.scores_image(d.test.image(i), SIDE).unwrap(), [logit]);
    }
}

/// The inspection panel's heat maps of chosen test images: each is the model's own map of that
/// image (the same numbers as [`heat_map`] on its features), in the order asked, and averages to
/// its logit; an index past the split is refused.
#[test]
fn heat_maps_of_chosen_images_are_theirs_in_order() {
    let d = common::catvnoncat();
    let model = Model::Pretrained(small_model().clone());
    let maps = purrceptron::model::heat_maps(&model, &d.test, &[3, 0]).unwrap();
    let mut scratch = Scratch::default();
    for (map, i) in maps.iter().zip([3, 0]) {
        let f = small_model()
            .model
            .features(d.test.image(i), SIDE, &mut scratch)
            .unwrap();
        assert_eq!(
            (map.side, &map.values),
            (4, &small_model().model.heat_map(&f, 0))
        );
        let mean = map.values.iter().map(|&v| f64::from(v)).sum::<f64>() / 16.0;
        let logit = model.scores_image(d.test.image(i), SIDE).unwrap()[0];
        assert!(
            (mean - logit).abs() < 1e-3 * logit.abs().max(1.0),
            "{mean} vs {logit}"
        );
    }
    let e = purrceptron::model::heat_maps(&model, &d.test, &[d.test.len()]);
    assert!(matches!(
        e,
        Err(Error::InvalidParameter { name: "index", .. })
    ));
}

/// A request with a key the kind does not take is refused by name; training without the
/// backbone is a clear error; cached features of another side are refused.
#[test]
fn requests_and_contexts_are_checked() {
    let e = ModelSpec::from_request(&json!({"model": "pretrained", "learning_rate": 0.1}));
    assert!(
        matches!(&e, Err(Error::UnusedParameter { name, .. }) if name == "learning_rate"),
        "{e:?}"
    );
    let d = common::catvnoncat();
    let spec = ModelSpec::from_request(&json!({"model": "pretrained", "side": 96})).unwrap();
    let e = spec.start(&d.train).unwrap_err();
    assert_eq!(e.kind().as_str(), "state");
    assert!(e.to_string().contains("needs the backbone"), "{e}");
    let cached = ExtractedFeatures {
        backbone_sha256: backbone().sha256().to_string(),
        side: 128,
        rows: vec![0.0; d.train.len() * FEATURES],
        test_rows: Vec::new(),
        mirrored_rows: Vec::new(),
    };
    let params = PretrainedParams::builder().side(96).build().unwrap();
    let e = PretrainedTrainer::new(
        params,
        backbone(),
        &d.train.pixels,
        &d.train.labels,
        2,
        Some(cached.clone()),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidParameter {
                name: "cached features",
                ..
            }
        ),
        "{e:?}"
    );
    // Features cached without the test split's rows do not serve a training that has one.
    let params = PretrainedParams::builder().build().unwrap();
    let e = PretrainedTrainer::with_test(params, backbone(), &d.train, &d.test, 2, Some(cached))
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidParameter { value, .. } if value == "0 test values"),
        "{e:?}"
    );
}

/// A step bigger than the whole training stops where the extraction ends, so that the page
/// reports the fitting stage from its start (on 20 images the fit is shorter than one step).
#[test]
fn a_step_stops_where_the_extraction_ends() {
    let d = common::catvnoncat();
    let params = PretrainedParams::builder().build().unwrap();
    let (pixels, labels) = (&d.train.pixels[..20 * PIXELS], &d.train.labels[..20]);
    let mut t = PretrainedTrainer::new(params, backbone(), pixels, labels, 2, None).unwrap();
    t.step(1e12).unwrap();
    assert_eq!(t.progress().stage.name(), "fitting");
    assert!(!t.is_done());
    t.step(1e12).unwrap();
    assert!(t.is_done());
}
