//! The learned-feature model on the real catvnoncat data.

mod common;

use std::time::Instant;

use purrceptron::features::FeatureParams;

/// Test accuracy over seeds 1..=5 with the defaults. The bounds are the acceptance
/// criteria (a numpy prototype of the same recipe, with its own random streams, averaged 88.0%
/// with seeds ranging 84-90%).
#[test]
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
        let acc = {
            let z = trained.model.logits_pixels(&d.test.pixels).unwrap();
            z.iter()
                .zip(&d.test.labels)
                .filter(|(&z, &y)| u8::from(z > 0.0) == y)
                .count() as f64
                / d.test.len() as f64
        };
        println!(
            "seed {seed}: train {:.3} test {acc:.3} C {} cv {:?} final it {} ({secs:.2} s) kmeans {:?}",
            trained.report.train_accuracy,
            trained.report.cross_validation.c,
            trained.report.cross_validation.scores,
            trained.report.final_iterations,
            trained.report.kmeans_objective,
        );
        accs.push(acc);
    }
    let mean = accs.iter().sum::<f64>() / accs.len() as f64;
    println!(
        "mean {mean:.3} min {:.3} max {:.3}",
        accs.iter().cloned().fold(1.0, f64::min),
        accs.iter().cloned().fold(0.0, f64::max)
    );
}
