//! Results checked against an independent numpy float64 run of the same algorithms.
//!
//! Every expected number is read from `tests/reference/numpy_reference.json`, which
//! `python3 tests/reference/numpy_reference.py tests/reference/numpy_reference.json` wrote
//! (numpy 2.4, float64; the script re-implements the classic notebooks' functions).

mod common;

use std::ops::ControlFlow;

use common::{assert_rel, catvnoncat, num, reference};
use ndarray::{Array1, Array2};
use purrceptron::logistic;
use purrceptron::network::{Hyperparams, Network, Solver, Trained};

fn matrix(pointer: &str) -> Array2<f64> {
    let rows = reference()
        .pointer(pointer)
        .and_then(|v| v.as_array())
        .unwrap_or_else(|| panic!("no matrix at {pointer}"));
    let rows: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect()
        })
        .collect();
    Array2::from_shape_fn((rows.len(), rows[0].len()), |(i, j)| rows[i][j])
}

fn assert_matrix(got: &Array2<f64>, pointer: &str, tol: f64) {
    let want = matrix(pointer);
    assert_eq!(got.dim(), want.dim(), "{pointer}");
    for (g, w) in got.iter().zip(&want) {
        if *w == 0.0 {
            assert!(g.abs() < 1e-15, "{pointer}: got {g}, expected 0");
        } else {
            assert_rel(*g, *w, tol, pointer);
        }
    }
}

#[test]
fn toy_propagate_optimize_predict() {
    let w = ndarray::arr2(&[[1.0], [2.0]]);
    let x = ndarray::arr2(&[[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]]);
    let y = ndarray::arr2(&[[1.0, 0.0, 1.0]]);
    let (g, cost) = logistic::propagate(w.view(), 2.0, x.view(), y.view()).unwrap();
    assert_matrix(&g.dw, "/toy_examples/propagate/dw", 1e-12);
    assert_rel(g.db, num("/toy_examples/propagate/db"), 1e-10, "db");
    assert_rel(cost, num("/toy_examples/propagate/cost"), 1e-12, "cost");

    let o = logistic::optimize(w.view(), 2.0, x.view(), y.view(), 100, 0.009).unwrap();
    let p = "/toy_examples/optimize_100_it_lr_0.009";
    assert_matrix(&o.w, &format!("{p}/w"), 1e-10);
    assert_rel(o.b, num(&format!("{p}/b")), 1e-10, "b");
    assert_matrix(&o.grads.dw, &format!("{p}/dw"), 1e-10);
    assert_rel(o.grads.db, num(&format!("{p}/db")), 1e-10, "db");
    assert_rel(
        o.costs[0],
        num(&format!("{p}/cost_at_iteration_0")),
        1e-12,
        "cost 0",
    );

    let w = ndarray::arr2(&[[0.1124579], [0.23106775]]);
    let x = ndarray::arr2(&[[1.0, -1.1, -3.2], [1.2, 2.0, 0.1]]);
    let pred = logistic::predict(w.view(), -0.3, x.view()).unwrap();
    assert_eq!(pred, matrix("/toy_examples/predict"));
}

/// The tiny [3, 4, 2, 1] network: numpy-compatible initial weights (bit for bit), first
/// gradients (through one step at lr 1) and the weights after 10 iterations at lr 0.1.
#[test]
fn tiny_network_matches_numpy() {
    let p = "/tiny_network";
    let x = matrix(&format!("{p}/X"));
    let y: Vec<u8> = matrix(&format!("{p}/Y")).iter().map(|&v| v as u8).collect();
    let fit = |iterations, lr, solver| -> Trained {
        Hyperparams::builder()
            .hidden(vec![4, 2])
            .iterations(iterations)
            .learning_rate(lr)
            .seed(3)
            .solver(solver)
            .build()
            .unwrap()
            .fit(x.clone(), &y, |_| ControlFlow::Continue(()))
            .unwrap()
    };
    for solver in [Solver::Direct, Solver::Gram] {
        let one = fit(1, 1.0, solver);
        assert_rel(
            one.report.costs[0].1,
            num(&format!("{p}/initial_cost")),
            1e-12,
            "cost",
        );
        for l in 1..=3 {
            let w0 = matrix(&format!("{p}/initial_parameters/W{l}"));
            let grad = &w0 - &one.network.weights()[l - 1];
            assert_matrix(&grad, &format!("{p}/initial_gradients/dW{l}"), 1e-9);
            let db: Array1<f64> = -one.network.biases()[l - 1].clone();
            assert_matrix(
                &db.insert_axis(ndarray::Axis(1)),
                &format!("{p}/initial_gradients/db{l}"),
                1e-9,
            );
        }
        let ten = fit(10, 0.1, solver);
        for l in 1..=3 {
            let w = &ten.network.weights()[l - 1];
            assert_matrix(
                w,
                &format!("{p}/parameters_after_10_iterations/W{l}"),
                1e-10,
            );
            let b = ten.network.biases()[l - 1]
                .clone()
                .insert_axis(ndarray::Axis(1));
            assert_matrix(
                &b,
                &format!("{p}/parameters_after_10_iterations/b{l}"),
                1e-10,
            );
        }
        assert_rel(
            ten.report.final_cost,
            num(&format!("{p}/cost_after_10_iterations")),
            1e-10,
            "cost",
        );
    }
    // The initial weights are numpy's, bit for bit (W1 = randn / sqrt(3) with seed 3).
    let mut rng = purrceptron::rng::NumpyRandn::new(3);
    let w1 = rng.randn_matrix(4, 3) / 3f64.sqrt();
    assert_eq!(w1, matrix(&format!("{p}/initial_parameters/W1")));
}

fn train_catvnoncat(
    hidden: &[usize],
    iterations: usize,
    lr: f64,
    seed: u32,
) -> (Trained, f64, f64) {
    let d = catvnoncat();
    let trained = Hyperparams::builder()
        .hidden(hidden.to_vec())
        .iterations(iterations)
        .learning_rate(lr)
        .seed(seed)
        .build()
        .unwrap()
        .fit(&d.train, &d.train.labels, |_| ControlFlow::Continue(()))
        .unwrap();
    let net: &Network = &trained.network;
    let train = net
        .accuracy(d.train.to_matrix().view(), &d.train.labels)
        .unwrap();
    let test = net
        .accuracy(d.test.to_matrix().view(), &d.test.labels)
        .unwrap();
    (trained, train, test)
}

fn check_curve(t: &Trained, pointer: &str, tol: f64) {
    let want = reference().pointer(pointer).unwrap().as_array().unwrap();
    let got: Vec<f64> = t
        .report
        .costs
        .iter()
        .filter(|c| c.0 % 100 == 0)
        .map(|c| c.1)
        .collect();
    for (i, w) in want.iter().enumerate() {
        assert_rel(got[i], w.as_f64().unwrap(), tol, &format!("{pointer}[{i}]"));
    }
}

#[test]
fn logistic_regression_on_catvnoncat() {
    let (t, train, test) = train_catvnoncat(&[], 2000, 0.005, 1);
    let p = "/logistic_regression";
    assert_rel(
        train,
        num(&format!("{p}/train_accuracy")),
        1e-12,
        "train accuracy",
    );
    assert_rel(
        test,
        num(&format!("{p}/test_accuracy")),
        1e-12,
        "test accuracy",
    );
    assert_eq!(
        format!("{:.1}% / {:.1}%", 100.0 * train, 100.0 * test),
        "99.0% / 70.0%"
    );
    assert!((t.report.final_cost - 0.1357).abs() <= 0.001);
    assert_rel(
        t.report.final_cost,
        num(&format!("{p}/final_cost")),
        1e-9,
        "final cost",
    );
    check_curve(&t, &format!("{p}/costs_every_100"), 1e-9);
    assert_rel(
        t.network.biases()[0][0],
        num(&format!("{p}/final_b")),
        1e-7,
        "b",
    );
    assert_rel(
        t.network.weights()[0].sum(),
        num(&format!("{p}/final_w_sum")),
        1e-7,
        "sum of w",
    );
}

/// A deep network with seed 1, 2500 iterations at lr 0.0075: the accuracies as the page shows
/// them, the final cost near the anchor, and numpy's final cost and cost curve.
fn check_deep(hidden: &[usize], pointer: &str, accuracies: &str, anchor: (f64, f64)) {
    let (t, train, test) = train_catvnoncat(hidden, 2500, 0.0075, 1);
    assert_eq!(
        format!("{:.1}% / {:.1}%", 100.0 * train, 100.0 * test),
        accuracies
    );
    assert!((t.report.final_cost - anchor.0).abs() <= anchor.1);
    let final_cost = num(&format!("{pointer}/final_cost"));
    assert_rel(t.report.final_cost, final_cost, 1e-6, "final cost");
    check_curve(&t, &format!("{pointer}/costs_every_100"), 1e-6);
}

#[test]
fn two_layer_network_on_catvnoncat() {
    check_deep(
        &[7],
        "/deep/two_layer_12288_7_1",
        "100.0% / 74.0%",
        (0.0248, 0.001),
    );
}

#[test]
fn four_layer_network_on_catvnoncat() {
    let p = "/deep/four_layer_12288_20_7_5_1";
    check_deep(&[20, 7, 5], p, "98.6% / 80.0%", (0.0884, 0.005));
}

/// The seed sweep the README quotes: test accuracy of [20,7,5] over seeds 2..=6.
#[test]
#[cfg_attr(
    not(feature = "full-tests"),
    ignore = "full tier: cargo test --release --features full-tests"
)]
fn four_layer_seed_sweep() {
    let want = reference()
        .pointer("/deep/four_layer_seed_sweep/test_accuracies")
        .unwrap();
    let want: Vec<f64> = want
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let got: Vec<f64> = (2..=6)
        .map(|seed| train_catvnoncat(&[20, 7, 5], 2500, 0.0075, seed).2)
        .collect();
    assert_eq!(got, want);
}

/// The classic notebook's own "what if the learning rate is large" setting: with the stable
/// log-sigmoid every reported cost is finite (numpy's naive log(A) reaches log(0) here).
#[test]
fn large_learning_rate_keeps_costs_finite() {
    let d = catvnoncat();
    let t = Hyperparams::builder()
        .iterations(5000)
        .learning_rate(0.8)
        .report_every(1)
        .build()
        .unwrap()
        .fit(&d.train, &d.train.labels, |p| {
            assert!(p.cost.is_finite(), "cost at {} is {}", p.iteration, p.cost);
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(t.report.costs.len(), 5001);
    assert!(t.network.weights()[0].iter().all(|v| v.is_finite()));
}

/// Trains with both solvers on the real data and checks that they give the same model:
/// identical test predictions and final costs within 1e-9 relative (the target is 1e-4).
fn solvers_agree(hidden: &[usize], iterations: usize, lr: f64, l2: f64) {
    let d = catvnoncat();
    let run = |solver| {
        Hyperparams::builder()
            .hidden(hidden.to_vec())
            .iterations(iterations)
            .learning_rate(lr)
            .l2(l2)
            .solver(solver)
            .build()
            .unwrap()
            .fit(&d.train, &d.train.labels, |_| ControlFlow::Continue(()))
            .unwrap()
    };
    let (a, b) = (run(Solver::Gram), run(Solver::Direct));
    assert_rel(a.report.final_cost, b.report.final_cost, 1e-9, "final cost");
    let x = d.test.to_matrix();
    assert_eq!(
        a.network.predict(x.view()).unwrap(),
        b.network.predict(x.view()).unwrap()
    );
    let (pa, pb) = (
        a.network.predict_proba(x.view()).unwrap(),
        b.network.predict_proba(x.view()).unwrap(),
    );
    for (u, v) in pa.iter().zip(&pb) {
        assert!((u - v).abs() < 1e-9, "{u} vs {v}");
    }
}

/// The fast (Gram) solver and the straightforward textbook one agree on logistic regression,
/// its full 2000 iterations.
#[test]
fn solvers_agree_on_catvnoncat_logistic_regression() {
    solvers_agree(&[], 2000, 0.005, 0.0);
}

/// The same for the deep network, 300 iterations (the textbook solver needs about 100 M
/// multiply-adds per iteration for it), and 40 with an L2 penalty.
#[test]
#[cfg_attr(
    not(feature = "full-tests"),
    ignore = "full tier: cargo test --release --features full-tests"
)]
fn solvers_agree_on_catvnoncat_deep_network() {
    solvers_agree(&[20, 7, 5], 300, 0.0075, 0.0);
    solvers_agree(&[20, 7, 5], 40, 0.0075, 0.7);
}
