//! Saving and loading models: round trip, and every kind of bad file gives a named error.

use std::collections::HashMap;
use std::ops::ControlFlow;

use purrceptron::data::{Dataset, Split, CLASSES};
use purrceptron::model::SavedNetwork;
use purrceptron::network::Hyperparams;
use purrceptron::preprocess::PIXELS;
use purrceptron::Error;
use safetensors::Dtype;

/// A network model file read back (any other kind fails the test).
fn load(bytes: &[u8]) -> Result<SavedNetwork, Error> {
    match purrceptron::model::Model::from_bytes(bytes)? {
        purrceptron::model::Model::Network(m) => Ok(m),
        other => panic!("expected a network, got a {} model", other.kind()),
    }
}

/// A small synthetic dataset: bright images are cats.
fn dataset() -> Dataset {
    let mut train = Split::default();
    for i in 0..12u8 {
        train.pixels.extend(std::iter::repeat_n(i * 20, PIXELS));
        train.labels.push(u8::from(i >= 6));
    }
    let test = Split::new(
        [vec![10; PIXELS], vec![230; PIXELS]].concat(),
        vec![0, 1],
        2,
    )
    .unwrap();
    Dataset {
        train,
        test,
        classes: CLASSES.map(String::from).to_vec(),
        source: "synthetic".into(),
        source_sha256: String::new(),
    }
}

fn model(hidden: &[usize]) -> SavedNetwork {
    let d = dataset();
    let trained = Hyperparams::builder()
        .hidden(hidden.to_vec())
        .iterations(30)
        .learning_rate(0.01)
        .build()
        .unwrap()
        .fit(&d.train, &d.train.labels, |_| ControlFlow::Continue(()))
        .unwrap();
    purrceptron::model::save_network(
        trained,
        &d,
        d.content_sha256(),
        "2026-11-29T00:00:00Z".into(),
    )
    .unwrap()
    .0
}

#[test]
fn round_trip_gives_identical_predictions() {
    for hidden in [vec![], vec![4, 3]] {
        let m = model(&hidden);
        let back = load(&m.to_bytes().unwrap()).unwrap();
        assert_eq!(back, m);
        let x = dataset().test.to_matrix();
        assert_eq!(
            back.network.predict_proba(x.view()).unwrap(),
            m.network.predict_proba(x.view()).unwrap()
        );
        assert_eq!(back.receipt.dataset_sha256, dataset().content_sha256());
        assert_eq!(back.receipt.iterations_run, 30);
    }
}

#[test]
fn every_truncated_prefix_is_refused() {
    let bytes = model(&[3]).to_bytes().unwrap();
    // Every prefix of the header and a spread of prefixes through the weights.
    let header = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let lens = (0..header + 64).chain((header..bytes.len()).step_by(97));
    for len in lens.filter(|&l| l < bytes.len()) {
        match load(&bytes[..len]) {
            Err(Error::InvalidModel(_)) => {}
            other => panic!("prefix of {len} bytes: {other:?}"),
        }
    }
}

fn rewrite(
    m: &SavedNetwork,
    edit: impl FnOnce(&mut Vec<(String, Dtype, Vec<usize>, Vec<u8>)>, &mut HashMap<String, String>),
) -> Vec<u8> {
    let bytes = m.to_bytes().unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let mut meta = meta.metadata().clone().unwrap();
    let mut tensors: Vec<_> = st
        .tensors()
        .into_iter()
        .map(|(n, t)| (n, t.dtype(), t.shape().to_vec(), t.data().to_vec()))
        .collect();
    edit(&mut tensors, &mut meta);
    let views: Vec<_> = tensors
        .iter()
        .map(|(n, d, s, b)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap(),
            )
        })
        .collect();
    safetensors::serialize(views, Some(meta)).unwrap()
}

fn refused(bytes: &[u8], needle: &str) {
    match load(bytes) {
        Err(Error::InvalidModel(msg)) => assert!(msg.contains(needle), "`{msg}` lacks `{needle}`"),
        other => panic!("expected InvalidModel containing `{needle}`, got {other:?}"),
    }
}

#[test]
fn bad_contents_are_named() {
    let m = model(&[3]);
    refused(b"", "safetensors");
    refused(b"hello, I am not a model", "safetensors");
    refused(&dataset().to_bytes().unwrap(), "dataset file");
    refused(
        &rewrite(&m, |t, _| {
            let w = t.iter_mut().find(|t| t.0 == "W2").unwrap();
            w.3[..8].copy_from_slice(&f64::NAN.to_le_bytes());
        }),
        "not a finite number",
    );
    refused(
        &rewrite(&m, |t, _| {
            let w = t.iter_mut().find(|t| t.0 == "b1").unwrap();
            w.1 = Dtype::F32;
            w.2 = vec![6];
        }),
        "F32",
    );
    refused(
        &rewrite(&m, |t, _| t.retain(|t| t.0 != "b2")),
        "expected W1, b1",
    );
    refused(
        &rewrite(&m, |_, meta| {
            meta.insert("hyperparams".into(), r#"{"hidden":[4]}"#.into());
        }),
        "do not match",
    );
    refused(
        &rewrite(&m, |_, meta| {
            meta.insert("hyperparams".into(), r#"{"learning_rate":-3}"#.into());
        }),
        "learning_rate",
    );
    refused(
        &rewrite(&m, |_, meta| {
            meta.insert("version".into(), "9".into());
        }),
        "version",
    );
    refused(
        &rewrite(&m, |_, meta| {
            meta.remove("receipt");
        }),
        "receipt",
    );
}

#[test]
fn the_same_model_always_gives_the_same_bytes() {
    // The metadata is a hash map: unsorted, its order (and so the file) would change from one
    // serialisation to the next.
    let m = model(&[3]);
    let first = m.to_bytes().unwrap();
    for _ in 0..8 {
        assert_eq!(m.to_bytes().unwrap(), first);
    }
    assert_eq!(load(&first).unwrap(), m);
}
