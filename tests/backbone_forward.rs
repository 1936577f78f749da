//! The pretrained backbone (EfficientNet-Lite0, int8 weights) against the independent numpy
//! reference, tests/reference/backbone_reference.py, and its file checks.

mod common;

use std::collections::HashMap;

use purrceptron::backbone::forward::cat_probability;
use purrceptron::backbone::{Backbone, Scratch, FEATURES};
use purrceptron::ErrorKind;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use common::backbone::backbone_bytes;

/// The synthetic RGB image of the reference (`synthetic_image` in backbone_reference.py):
/// smooth ramps plus products, so that every layer sees structure.
fn synthetic(side: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(side * side * 3);
    for y in 0..side {
        for x in 0..side {
            for c in 0..3 {
                let v = x * 7 + y * 13 + c * 50 + (x * y) / 5 + ((x + 2 * c) * (y + c)) % 37;
                out.push((v % 256) as u8);
            }
        }
    }
    out
}

fn backbone() -> Backbone {
    Backbone::from_bytes(backbone_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

/// What `python3 tests/reference/backbone_reference.py --forward` printed for one case
/// (float64 numpy on the dequantised int8 weights).
struct Expected {
    first: [f64; 8],
    sum: f64,
    l2: f64,
    weighted: f64,
    top5: [(usize, f64); 5],
    cat: f64,
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

fn check(side: usize, input: usize, want: &Expected) {
    let net = backbone();
    let f = net
        .features_with(&synthetic(side), side, input, &mut Scratch::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let p: Vec<f64> = f.pooled.iter().map(|&v| f64::from(v)).collect();
    assert_eq!(p.len(), FEATURES);
    assert_eq!(f.side, input.div_ceil(32));
    assert_eq!(f.map.len(), f.side * f.side * FEATURES);
    // The f32 pass against the f64 reference: 1e-4 relative (absolute below 1).
    for (i, (&got, &exp)) in p.iter().zip(&want.first).enumerate() {
        assert!(
            close(got, exp, 1e-4),
            "pooled[{i}] = {got}, reference {exp}"
        );
    }
    let sum: f64 = p.iter().sum();
    let l2 = p.iter().map(|v| v * v).sum::<f64>().sqrt();
    let weighted: f64 = p
        .iter()
        .enumerate()
        .map(|(i, v)| v * ((i % 7) + 1) as f64)
        .sum();
    assert!(close(sum, want.sum, 1e-4), "sum {sum} vs {}", want.sum);
    assert!(close(l2, want.l2, 1e-4), "L2 {l2} vs {}", want.l2);
    assert!(close(weighted, want.weighted, 1e-4), "weighted {weighted}");
    let logits = net.logits(&f.pooled);
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    for (rank, &(class, value)) in want.top5.iter().enumerate() {
        assert_eq!(order[rank], class, "top-{} class", rank + 1);
        let got = f64::from(logits[class]);
        assert!(close(got, value, 1e-4), "logit {class}: {got} vs {value}");
    }
    let cat = cat_probability(&logits);
    assert!(
        (cat - want.cat).abs() <= 1e-3 * want.cat,
        "cat {cat} vs {}",
        want.cat
    );
}

#[test]
fn synthetic_128_matches_the_numpy_reference() {
    check(
        128,
        128,
        &Expected {
            first: [
                1.646201727e+00,
                0.0,
                0.0,
                0.0,
                0.0,
                3.053705728e-02,
                1.898710403e-01,
                3.304294871e+00,
            ],
            sum: 4.245389171e+02,
            l2: 3.194692112e+01,
            weighted: 1.694972106e+03,
            top5: [
                (506, 1.754247583e+01),
                (616, 9.909198536e+00),
                (109, 9.463524770e+00),
                (828, 7.941782672e+00),
                (522, 7.623342502e+00),
            ],
            cat: 6.552840892e-08,
        },
    );
}

#[test]
fn synthetic_64_resized_to_128_matches_the_numpy_reference() {
    check(
        64,
        128,
        &Expected {
            first: [
                2.963379769e-01,
                0.0,
                0.0,
                0.0,
                4.729731447e-01,
                0.0,
                8.636124405e-01,
                3.567038063e+00,
            ],
            sum: 4.478573500e+02,
            l2: 3.383205393e+01,
            weighted: 1.749676350e+03,
            top5: [
                (506, 1.882925205e+01),
                (109, 1.352315008e+01),
                (616, 1.302838318e+01),
                (987, 8.728137518e+00),
                (392, 8.357260044e+00),
            ],
            cat: 2.160261574e-08,
        },
    );
}

#[test]
fn synthetic_64_at_64_matches_the_numpy_reference() {
    check(
        64,
        64,
        &Expected {
            first: [
                3.561987175e+00,
                0.0,
                1.283538704e-01,
                3.299311998e-01,
                0.0,
                0.0,
                5.654447034e+00,
                6.0,
            ],
            sum: 1.264206409e+03,
            l2: 7.294776843e+01,
            weighted: 5.012540188e+03,
            top5: [
                (506, 3.860707961e+01),
                (616, 2.857603369e+01),
                (882, 2.192620010e+01),
                (650, 2.148661859e+01),
                (363, 1.978193694e+01),
            ],
            cat: 9.999117954e-17,
        },
    );
}

#[test]
fn the_pooled_features_are_the_mean_of_the_map_and_scratch_reuse_changes_nothing() {
    let net = backbone();
    let mut scratch = Scratch::default();
    let img = synthetic(64);
    let first = net
        .features_with(&img, 64, 96, &mut scratch)
        .unwrap_or_else(|e| panic!("{e}"));
    // A larger image through the same scratch, then the first one again: the same bits.
    net.features_with(&synthetic(128), 128, 224, &mut scratch)
        .unwrap_or_else(|e| panic!("{e}"));
    let again = net
        .features_with(&img, 64, 96, &mut scratch)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.map, again.map);
    let positions = first.side * first.side;
    for c in [0, 7, 640, FEATURES - 1] {
        let mean = (0..positions)
            .map(|p| first.map[p * FEATURES + c])
            .sum::<f32>()
            / positions as f32;
        assert_eq!(mean.to_bits(), first.pooled[c].to_bits(), "channel {c}");
    }
}

#[test]
fn bad_images_and_sizes_are_errors() {
    let net = backbone();
    let mut s = Scratch::default();
    assert_eq!(
        net.features(&[0; 10], 2).map(|_| ()).unwrap_err().kind(),
        ErrorKind::Internal
    );
    assert!(net.features(&[], 0).is_err());
    for input in [0, 31, 513] {
        let e = net
            .features_with(&[0; 12], 2, input, &mut s)
            .map(|_| ())
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Parameter, "input side {input}");
    }
    // The smallest input side runs (a 1x1 final map).
    let f = net
        .features_with(&[9; 12], 2, 32, &mut s)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((f.side, f.pooled.len()), (1, FEATURES));
}

#[test]
fn the_identity_is_the_sha256_of_the_whole_file() {
    // The file the reference script writes; a converter that writes other bytes for the same
    // wheel breaks this (the format fixes every byte).
    assert_eq!(
        backbone().sha256(),
        "4222f3dbc39b358074ff332a57f9eac00666511fdaf4ac961b2991245eb32aae"
    );
}

/// One tensor of a file: name, dtype, shape, bytes.
type Tensor = (String, Dtype, Vec<usize>, Vec<u8>);

/// The tensors of a backbone file, to rebuild with one of them changed.
fn tensors(bytes: &[u8]) -> Vec<Tensor> {
    let st = SafeTensors::deserialize(bytes).unwrap_or_else(|e| panic!("{e}"));
    st.tensors()
        .into_iter()
        .map(|(n, t)| (n, t.dtype(), t.shape().to_vec(), t.data().to_vec()))
        .collect()
}

fn metadata(changes: &[(&str, Option<&str>)]) -> HashMap<String, String> {
    let (_, meta) = SafeTensors::read_metadata(backbone_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let mut m = meta.metadata().clone().unwrap_or_default();
    for (k, v) in changes {
        match v {
            Some(v) => m.insert(k.to_string(), v.to_string()),
            None => m.remove(*k),
        };
    }
    m
}

fn build(t: &[Tensor], meta: HashMap<String, String>) -> Vec<u8> {
    let views = t.iter().map(|(n, d, s, b)| {
        (
            n.clone(),
            TensorView::new(*d, s.clone(), b).unwrap_or_else(|e| panic!("{e}")),
        )
    });
    safetensors::serialize(views, Some(meta)).unwrap_or_else(|e| panic!("{e}"))
}

fn error_of(bytes: &[u8]) -> String {
    match Backbone::from_bytes(bytes) {
        Ok(_) => panic!("accepted a bad backbone file"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Model, "{e}");
            e.to_string()
        }
    }
}

#[test]
fn defective_files_are_model_errors_that_say_what_is_wrong() {
    let all = tensors(backbone_bytes());
    // Rebuilt with its tensors unchanged, the file passes every structural check and is refused
    // only by its sha256 (the rebuild writes its header differently): the rebuild itself is
    // sound, so each case below fails for its own defect.
    let rebuilt = build(&all, metadata(&[]));
    assert_ne!(rebuilt, backbone_bytes());
    let e = error_of(&rebuilt);
    assert!(e.contains("it was altered"), "{e}");
    let with = |name: &str, f: &dyn Fn(&mut Tensor)| {
        let mut t = all.clone();
        t.iter_mut().filter(|x| x.0 == name).for_each(f);
        build(&t, metadata(&[]))
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            build(&all, metadata(&[("format", Some("purrceptron-dataset"))])),
            "not a backbone",
        ),
        (build(&all, metadata(&[("format", None)])), "not a backbone"),
        (
            build(&all, metadata(&[("version", Some("2"))])),
            "version `2`",
        ),
        (
            build(&all, metadata(&[("network", Some("mobilenet"))])),
            "mobilenet",
        ),
        (
            build(
                &all.iter()
                    .filter(|t| t.0 != "blocks.7.project.bias")
                    .cloned()
                    .collect::<Vec<_>>(),
                metadata(&[]),
            ),
            "`blocks.7.project.bias` is missing",
        ),
        (
            with("head.weight", &|t| t.2 = vec![1280, 320]),
            "`head.weight` has shape [1280, 320], expected [320, 1280]",
        ),
        (
            with("stem.scale", &|t| {
                t.1 = Dtype::F16;
                t.3.truncate(64)
            }),
            "`stem.scale` has dtype F16",
        ),
        (
            with("blocks.3.depthwise.scale", &|t| {
                t.3[4..8].copy_from_slice(&f32::NAN.to_le_bytes())
            }),
            "`blocks.3.depthwise.scale` [1] is NaN",
        ),
        (
            with("classifier.bias", &|t| {
                t.3[0..4].copy_from_slice(&f32::INFINITY.to_le_bytes())
            }),
            "`classifier.bias` [0] is inf",
        ),
        // A well-formed file with one weight changed: only its sha256 tells.
        (
            with("blocks.5.expand.weight", &|t| {
                t.3[100] = t.3[100].wrapping_add(1)
            }),
            "it was altered",
        ),
        (b"not a file".to_vec(), "not a readable safetensors file"),
    ];
    for (bytes, want) in cases {
        let e = error_of(&bytes);
        assert!(e.contains(want), "{e:?} should say {want:?}");
    }
}

#[test]
fn every_truncated_prefix_is_an_error() {
    // A small hand-made backbone file (the metadata and the stem only) cut at every length,
    // and the real file cut through its header, its first tensors and at spread-out points.
    let stem: Vec<_> = tensors(backbone_bytes())
        .into_iter()
        .filter(|t| t.0.starts_with("stem."))
        .collect();
    let small = build(&stem, metadata(&[]));
    assert!(error_of(&small).contains("`blocks.0.depthwise.weight` is missing"));
    for n in 0..small.len() {
        error_of(&small[..n]);
    }
    let full = backbone_bytes();
    let cuts = (0..20_000)
        .chain((20_000..full.len()).step_by(99_991))
        .chain([full.len() - 1]);
    for n in cuts {
        error_of(&full[..n]);
    }
}
