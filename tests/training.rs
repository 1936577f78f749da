//! Training behaviour on small synthetic data: the two solvers agree, runs are deterministic,
//! bad hyper-parameters are refused, divergence is an error, early stop keeps the weights.

use std::ops::ControlFlow;

use ndarray::Array2;
use purrceptron::network::{Hyperparams, Solver, Trained};
use purrceptron::rng::NumpyRandn;
use purrceptron::Error;

fn data(n_x: usize, m: usize, seed: u32) -> (Array2<f64>, Vec<u8>) {
    let mut rng = NumpyRandn::new(seed);
    let x = rng.randn_matrix(n_x, m);
    // A label that depends on the inputs, so there is something to learn.
    let y = (0..m)
        .map(|j| u8::from(x[[0, j]] + 0.5 * x[[1, j]] > 0.0))
        .collect();
    (x, y)
}

fn train(hidden: &[usize], solver: Solver, l2: f64, iterations: usize, lr: f64) -> Trained {
    let (x, y) = data(30, 40, 11);
    Hyperparams::builder()
        .hidden(hidden.to_vec())
        .iterations(iterations)
        .learning_rate(lr)
        .l2(l2)
        .solver(solver)
        .build()
        .unwrap()
        .fit(x, &y, |_| ControlFlow::Continue(()))
        .unwrap()
}

#[test]
fn gram_and_direct_solvers_give_the_same_weights() {
    for (hidden, l2) in [
        (vec![], 0.0),
        (vec![], 0.5),
        (vec![8, 4], 0.0),
        (vec![8, 4], 0.2),
    ] {
        let a = train(&hidden, Solver::Gram, l2, 300, 0.05);
        let b = train(&hidden, Solver::Direct, l2, 300, 0.05);
        for (wa, wb) in a.network.weights().iter().zip(b.network.weights()) {
            let diff = (wa - wb).iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(
                diff < 1e-9,
                "hidden {hidden:?} l2 {l2}: weights differ by {diff}"
            );
        }
        let (ca, cb) = (a.report.final_cost, b.report.final_cost);
        assert!((ca - cb).abs() <= 1e-10 * cb, "costs {ca} vs {cb}");
        // Training did something: the cost went down.
        assert!(ca < a.report.costs[0].1, "{:?}", a.report.costs);
    }
}

#[test]
fn same_seed_same_bits_other_seed_other_weights() {
    let a = train(&[6, 3], Solver::Gram, 0.1, 50, 0.1);
    let b = train(&[6, 3], Solver::Gram, 0.1, 50, 0.1);
    assert_eq!(a.network, b.network);
    let (x, y) = data(30, 40, 11);
    let c = Hyperparams::builder()
        .hidden(vec![6, 3])
        .iterations(50)
        .learning_rate(0.1)
        .l2(0.1)
        .seed(2)
        .build()
        .unwrap()
        .fit(x, &y, |_| ControlFlow::Continue(()))
        .unwrap();
    assert_ne!(a.network, c.network);
}

#[test]
fn invalid_hyperparameters_are_refused_with_the_value() {
    let b = Hyperparams::builder;
    for (result, name) in [
        (b().learning_rate(-1.0).build(), "learning_rate"),
        (b().learning_rate(f64::NAN).build(), "learning_rate"),
        (b().learning_rate(0.0).build(), "learning_rate"),
        (b().iterations(0).build(), "iterations"),
        (b().l2(-0.1).build(), "l2"),
        (b().hidden(vec![20, 0, 5]).build(), "hidden"),
        (b().hidden(vec![1; 9]).build(), "hidden"),
        (b().report_every(0).build(), "report_every"),
    ] {
        match result {
            Err(Error::InvalidParameter { name: n, .. }) => assert_eq!(n, name),
            other => panic!("{name}: expected InvalidParameter, got {other:?}"),
        }
    }
    let err = b().learning_rate(-1.0).build().unwrap_err().to_string();
    assert!(err.contains("learning_rate = -1"), "{err}");
    // Defaults are the classic exercise's logistic regression.
    let d = b().build().unwrap();
    assert_eq!(
        (
            d.hidden(),
            d.iterations(),
            d.learning_rate(),
            d.l2(),
            d.seed()
        ),
        (&[][..], 2000, 0.005, 0.0, 1)
    );
}

#[test]
fn divergence_is_an_error_not_nan_weights() {
    let (x, y) = data(30, 40, 11);
    // Huge inputs and a huge step overflow within a few iterations.
    let x = x * 1e150;
    let result = Hyperparams::builder()
        .hidden(vec![20, 7, 5])
        .iterations(200)
        .learning_rate(100.0)
        .build()
        .unwrap()
        .fit(x, &y, |_| ControlFlow::Continue(()));
    match result {
        Err(Error::Diverged { learning_rate, .. }) => assert_eq!(learning_rate, 100.0),
        Ok(t) => panic!(
            "expected divergence, got final cost {}",
            t.report.final_cost
        ),
        Err(e) => panic!("expected Diverged, got {e}"),
    }
}

#[test]
fn progress_reports_and_early_stop() {
    let (x, y) = data(30, 40, 11);
    let hyper = Hyperparams::builder()
        .iterations(1000)
        .learning_rate(0.1)
        .report_every(100)
        .build()
        .unwrap();
    let mut seen = Vec::new();
    let trained = hyper
        .fit(x, &y, |p| {
            seen.push(p.iteration);
            if p.iteration >= 300 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    // Costs at 0, 100, 200, 300 (each is reported once the next step has run), then the final.
    assert_eq!(seen, vec![0, 100, 200, 300, 400]);
    assert_eq!(trained.report.iterations_run, 400);
    assert!(trained.report.costs.iter().all(|c| c.1.is_finite()));
}

/// Pixels and labels of `m` made-up 64x64 RGB images (an LCG's bytes; label = brighter than
/// the middle in the first pixel).
fn pixel_split(m: usize) -> purrceptron::data::Split {
    let mut s = 12345u32;
    let pixels: Vec<u8> = (0..m * purrceptron::preprocess::PIXELS)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 24) as u8
        })
        .collect();
    let labels = (0..m)
        .map(|j| u8::from(pixels[j * purrceptron::preprocess::PIXELS] > 127))
        .collect();
    purrceptron::data::Split::new(pixels, labels, 2).unwrap()
}

#[test]
fn a_gram_matrix_computed_beforehand_gives_the_same_training() {
    use purrceptron::model::{ModelSpec, TrainingContext};
    use std::sync::Arc;
    let train = pixel_split(24);
    let spec = ModelSpec::from_request(
        &serde_json::json!({"model": "network", "hidden": [7], "iterations": 60}),
    )
    .unwrap();
    let run = |gram: Option<Arc<Vec<u32>>>| {
        let context = TrainingContext {
            pixel_gram: gram,
            ..TrainingContext::default()
        };
        let mut t = spec.start_with(&train, context).unwrap();
        t.step(60).unwrap();
        t.progress()
    };
    let gram = purrceptron::kernels::gram_u8(&train.pixels, purrceptron::preprocess::PIXELS);
    // The same costs, bit for bit: the matrix is the one the trainer would compute.
    assert_eq!(run(None), run(Some(Arc::new(gram.clone()))));
    // A matrix of another size (another split's) is refused, not used.
    let wrong = TrainingContext {
        pixel_gram: Some(Arc::new(gram[..23 * 23].to_vec())),
        ..TrainingContext::default()
    };
    assert!(matches!(
        spec.start_with(&train, wrong),
        Err(Error::Shape(_))
    ));
}
