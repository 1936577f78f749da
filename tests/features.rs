//! The learned-feature model on the real catvnoncat data: accuracy over seeds, the k-means
//! objective, the model file round trip and its validation.

mod common;

use std::sync::OnceLock;
use std::time::Instant;

use purrceptron::features::{FeatureParams, FeatureTrained};
use purrceptron::model::Model;
use purrceptron::model::PixelModel;
use purrceptron::model::SavedFeatures;
use purrceptron::Error;

fn test_accuracy(trained: &FeatureTrained) -> f64 {
    let d = common::catvnoncat();
    trained
        .model
        .accuracy_pixels(&d.test.pixels, &d.test.labels)
        .unwrap()
}

/// A small model (16 filters, 2000 patches, 2 k-means iterations), trained once.
fn small() -> &'static (FeatureTrained, SavedFeatures) {
    static SMALL: OnceLock<(FeatureTrained, SavedFeatures)> = OnceLock::new();
    SMALL.get_or_init(|| {
        let d = common::catvnoncat();
        let params = FeatureParams::builder()
            .filters(16)
            .patches(2000)
            .kmeans_iterations(2)
            .build()
            .unwrap();
        let trained = params
            .fit(&d.train.pixels, &d.train.labels, |_| {})
            .unwrap();
        let (saved, _) = purrceptron::model::save_features(
            trained.clone(),
            d,
            d.content_sha256(),
            "2026-11-29T00:00:00Z".into(),
        )
        .unwrap();
        (trained, saved)
    })
}

/// Test accuracy over seeds 1..=5 with the defaults. The bounds are the acceptance criteria
/// of the model: a numpy prototype of the same recipe (its own random streams) averaged 88.0%
/// over 5 seeds, 84-90% each. Also: the k-means objective never decreases.
#[test]
#[cfg_attr(
    not(feature = "full-tests"),
    ignore = "full tier: cargo test --release --features full-tests"
)]
fn test_accuracy_over_five_seeds() {
    let d = common::catvnoncat();
    let mut accs = Vec::new();
    for seed in 1..=5 {
        let t0 = Instant::now();
        let trained = FeatureParams::builder()
            .seed(seed)
            .build()
            .unwrap()
            .fit(&d.train.pixels, &d.train.labels, |_| {})
            .unwrap();
        let secs = t0.elapsed().as_secs_f64();
        let acc = test_accuracy(&trained);
        let r = &trained.report;
        println!(
            "seed {seed}: train {:.3} test {acc:.3}; C {} (held-out accuracy {:?}); {secs:.2} s",
            r.train_accuracy, r.cross_validation.c, r.cross_validation.scores,
        );
        assert_eq!(r.kmeans_objective.len(), 5);
        assert!(
            r.kmeans_objective.windows(2).all(|w| w[1] >= w[0]),
            "k-means objective went down: {:?}",
            r.kmeans_objective
        );
        assert!(acc >= 0.84, "seed {seed}: test accuracy {acc}");
        assert!(
            r.train_accuracy > 0.9,
            "seed {seed}: train accuracy {}",
            r.train_accuracy
        );
        accs.push(acc);
    }
    let mean = accs.iter().sum::<f64>() / accs.len() as f64;
    let min = accs.iter().cloned().fold(1.0, f64::min);
    let max = accs.iter().cloned().fold(0.0, f64::max);
    println!("test accuracy over seeds 1-5: mean {mean:.3}, min {min:.3}, max {max:.3}");
    assert!(mean >= 0.88 - 1e-9, "mean test accuracy {mean}");
}

#[test]
fn the_train_accuracy_reported_is_the_one_evaluation_recomputes() {
    let (trained, _) = small();
    let d = common::catvnoncat();
    let again = trained
        .model
        .accuracy_pixels(&d.train.pixels, &d.train.labels)
        .unwrap();
    assert_eq!(again, trained.report.train_accuracy);
    // Far from guessing even with 16 filters.
    assert!(test_accuracy(trained) >= 0.7, "{}", test_accuracy(trained));
}

#[test]
fn model_file_round_trip() {
    let (_, saved) = small();
    let bytes = saved.to_bytes().unwrap();
    let Model::Features(loaded) = Model::from_bytes(&bytes).unwrap() else {
        panic!("a features file loaded as another kind");
    };
    assert_eq!(&loaded, saved);
    let d = common::catvnoncat();
    let a = saved.model.logits_pixels(&d.test.pixels).unwrap();
    let b = loaded.model.logits_pixels(&d.test.pixels).unwrap();
    assert_eq!(a, b);
}

/// Rewrites one tensor of a saved model (same dtype F64) and returns the file.
fn with_tensor(saved: &SavedFeatures, name: &str, shape: Vec<usize>, values: &[f64]) -> Vec<u8> {
    let bytes = saved.to_bytes().unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let mut data: Vec<(String, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .filter(|(n, _)| n != name)
        .map(|(n, t)| (n, t.shape().to_vec(), t.data().to_vec()))
        .collect();
    if !values.is_empty() {
        data.push((
            name.into(),
            shape,
            values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ));
    }
    let views: Vec<_> = data
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F64, s.clone(), b)
                    .unwrap(),
            )
        })
        .collect();
    safetensors::serialize(views, meta.metadata().clone()).unwrap()
}

#[test]
fn bad_feature_files_are_named_errors() {
    let (_, saved) = small();
    let nf = saved.model.params().n_features();
    let cases = [
        (
            with_tensor(saved, "weights", vec![nf - 1], &vec![0.0; nf - 1]),
            "`weights` has shape",
        ),
        (
            with_tensor(saved, "scaler_std", vec![nf], &vec![0.0; nf]),
            "feature scale is 0",
        ),
        (
            with_tensor(saved, "bias", vec![1], &[f64::NAN]),
            "not a finite number",
        ),
        (with_tensor(saved, "dictionary", vec![], &[]), "6 tensors"),
    ];
    for (bytes, want) in cases {
        match Model::from_bytes(&bytes) {
            Err(Error::InvalidModel(m)) => assert!(m.contains(want), "{m:?} lacks {want:?}"),
            other => panic!("expected an invalid-model error containing {want:?}, got {other:?}"),
        }
    }
    // Truncated bytes and a wrong kind.
    let bytes = saved.to_bytes().unwrap();
    assert!(matches!(
        Model::from_bytes(&bytes[..bytes.len() / 2]),
        Err(Error::InvalidModel(_))
    ));
}

#[test]
fn network_files_still_load_through_any_model() {
    let d = common::catvnoncat();
    let trained = purrceptron::network::Hyperparams::builder()
        .iterations(50)
        .build()
        .unwrap()
        .fit(&d.train, &d.train.labels, |_| {
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    let (saved, _) =
        purrceptron::model::save_network(trained, d, d.content_sha256(), String::new()).unwrap();
    let bytes = saved.to_bytes().unwrap();
    match Model::from_bytes(&bytes).unwrap() {
        Model::Network(m) => assert_eq!(m, saved),
        other => panic!("a network file loaded as {}", other.kind()),
    }
}
