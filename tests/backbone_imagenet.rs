//! The classification with no training (ImageNet's cat classes and the heat map) with the real
//! backbone, and the `imagenet` command that prints it.

mod common;

use std::process::Command;

use image::{ImageFormat, RgbImage};
use purrceptron::backbone::forward::cat_probability;
use purrceptron::backbone::imagenet::CAT_CLASS_NAMES;
use purrceptron::backbone::{Backbone, Features, CAT_CLASSES, FEATURES};
use purrceptron::preprocess::Framing;

use common::backbone::backbone_bytes;

fn backbone() -> Backbone {
    Backbone::from_bytes(backbone_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

/// A 160 x 120 RGB photo with structure in every channel, as PNG bytes.
fn photo_png() -> Vec<u8> {
    let img = RgbImage::from_fn(160, 120, |x, y| {
        image::Rgb([
            ((x * 3 + y) % 256) as u8,
            ((x * y / 7) % 256) as u8,
            ((200 + x + 2 * y) % 256) as u8,
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png)
        .unwrap_or_else(|e| panic!("{e}"));
    out.into_inner()
}

#[test]
fn the_verdict_is_the_classifier_on_the_pooled_features() {
    let net = backbone();
    let r = net
        .imagenet_photo(&photo_png(), Framing::Crop)
        .unwrap_or_else(|e| panic!("{e}"));
    let features = net
        .features(&r.pixels, r.side)
        .unwrap_or_else(|e| panic!("{e}"));
    let logits = net.logits(&features.pooled);
    let v = &r.verdict;
    assert_eq!(v.probability, cat_probability(&logits));
    assert_eq!(
        v.label,
        if v.probability > 0.5 {
            "cat"
        } else {
            "non-cat"
        }
    );
    // The likeliest cat class, named from the table.
    assert!(CAT_CLASSES.contains(&v.class));
    for c in CAT_CLASSES {
        assert!(logits[c] <= logits[v.class], "class {c} beats {}", v.class);
    }
    let name = CAT_CLASS_NAMES
        .iter()
        .find(|(c, _)| *c == v.class)
        .map(|p| p.1);
    assert_eq!(Some(v.class_name), name);
    // Its own softmax probability, recomputed in f64 here: below the five classes' sum.
    let max = logits
        .iter()
        .fold(f64::NEG_INFINITY, |m, &l| m.max(f64::from(l)));
    let total: f64 = logits.iter().map(|&l| (f64::from(l) - max).exp()).sum();
    let own = (f64::from(logits[v.class]) - max).exp() / total;
    assert!((v.class_probability - own).abs() < 1e-12);
    assert!(v.class_probability <= v.probability);
    // The image framed at the input side, with the original's size.
    assert_eq!((r.width, r.height, r.format), (160, 120, "png"));
    assert_eq!(r.pixels.len(), r.side * r.side * 3);
    // The heat map: one value per position of the feature map, and the classifier being
    // linear, their mean is the class's logit from the pooled features.
    assert_eq!(v.heat_side, features.side);
    assert_eq!(v.heat.len(), features.side * features.side);
    let mean = v.heat.iter().map(|&h| f64::from(h)).sum::<f64>() / v.heat.len() as f64;
    let logit = f64::from(logits[v.class]);
    assert!(
        (mean - logit).abs() <= 1e-4 * logit.abs().max(1.0),
        "mean of the heat map {mean}, logit {logit}"
    );
}

#[test]
fn the_heat_map_keeps_each_position_in_its_place() {
    // Position 0 (top left) holds a real image's pooled features, the others nothing: the map
    // is that image's logit at position 0 and the class's bias (the logit of zero features)
    // everywhere else, whatever the class.
    let net = backbone();
    let r = net
        .imagenet_photo(&photo_png(), Framing::Crop)
        .unwrap_or_else(|e| panic!("{e}"));
    let pooled = net
        .features(&r.pixels, r.side)
        .unwrap_or_else(|e| panic!("{e}"))
        .pooled;
    let side = 3;
    let mut map = vec![0.0f32; side * side * FEATURES];
    map[..FEATURES].copy_from_slice(&pooled);
    let features = Features {
        pooled: purrceptron::backbone::forward::average_pool(&map, FEATURES),
        map,
        side,
    };
    let v = net.imagenet(&features).unwrap_or_else(|e| panic!("{e}"));
    let full = net.logits(&pooled);
    let zero = net.logits(&[0.0; FEATURES]);
    assert_eq!(v.heat[0].to_bits(), full[v.class].to_bits());
    for (i, h) in v.heat.iter().enumerate().skip(1) {
        assert_eq!(h.to_bits(), zero[v.class].to_bits(), "position {i}");
    }
    // Features of the wrong shape are refused, not indexed out of range.
    let bad = Features {
        pooled: vec![0.0; FEATURES],
        map: vec![0.0; 5],
        side: 2,
    };
    assert!(net.imagenet(&bad).is_err());
}

#[test]
fn the_imagenet_command_prints_the_library_s_numbers() {
    let dir = std::env::temp_dir().join(format!("purrceptron-imagenet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join("backbone.safetensors");
    std::fs::write(&file, backbone_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let good = dir.join("photo.png");
    std::fs::write(&good, photo_png()).unwrap_or_else(|e| panic!("{e}"));
    let bad = dir.join("notes.jpg");
    std::fs::write(&bad, b"not a photo").unwrap_or_else(|e| panic!("{e}"));

    let out = Command::new(env!("CARGO_BIN_EXE_purrceptron"))
        .arg("imagenet")
        .args([&good, &bad])
        .arg("--backbone")
        .arg(&file)
        .arg("--json")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    // One photo could not be read: exit code 2, as `predict`.
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let want = backbone()
        .imagenet_photo(&photo_png(), Framing::Crop)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        lines[0]["probability"].as_f64(),
        Some(want.verdict.probability)
    );
    assert_eq!(lines[0]["class_name"], want.verdict.class_name);
    assert_eq!(lines[0]["label"], want.verdict.label);
    assert!(lines[1]["error"].is_string(), "{}", lines[1]);

    // A damaged backbone file: an error naming it, exit code 1.
    std::fs::write(&file, &backbone_bytes()[..1000]).unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(env!("CARGO_BIN_EXE_purrceptron"))
        .arg("imagenet")
        .arg(&good)
        .arg("--backbone")
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("backbone.safetensors"));
    let _ = std::fs::remove_dir_all(&dir);
}
