//! Finite-difference checks of the gradients the trainer uses, for both solvers.
//!
//! One gradient-descent step with learning rate α moves every parameter by `-α g`, so the
//! gradient the trainer used is `(θ0 - θ1) / α`. It must match the central difference
//! `(J(θ + ε) - J(θ - ε)) / 2ε` of the cost computed independently here.

use ndarray::{Array1, Array2};
use purrceptron::logistic::cross_entropy_from_logit;
use purrceptron::network::{Hyperparams, Network, Solver};
use purrceptron::rng::NumpyRandn;

/// Independent cost: mean cross-entropy of the network's logits plus λ/(2m) Σ‖W‖².
fn cost(
    weights: &[Array2<f64>],
    biases: &[Array1<f64>],
    x: &Array2<f64>,
    y: &[u8],
    l2: f64,
) -> f64 {
    let net = Network::from_parts(weights.to_vec(), biases.to_vec()).unwrap();
    let z = net.logits(x.view()).unwrap();
    let m = y.len() as f64;
    let ce: f64 = z
        .iter()
        .zip(y)
        .map(|(&z, &y)| cross_entropy_from_logit(z, f64::from(y)))
        .sum::<f64>()
        / m;
    let sq: f64 = weights.iter().flat_map(|w| w.iter()).map(|v| v * v).sum();
    ce + l2 / (2.0 * m) * sq
}

/// Initial weights exactly as the trainer draws them (numpy stream, /sqrt(n_in)).
fn initial(dims: &[usize], seed: u32) -> (Vec<Array2<f64>>, Vec<Array1<f64>>) {
    if dims.len() == 2 {
        return (vec![Array2::zeros((1, dims[0]))], vec![Array1::zeros(1)]);
    }
    let mut rng = NumpyRandn::new(seed);
    let w = dims
        .windows(2)
        .map(|d| rng.randn_matrix(d[1], d[0]) / (d[0] as f64).sqrt())
        .collect();
    let b = dims[1..].iter().map(|&n| Array1::zeros(n)).collect();
    (w, b)
}

fn check(hidden: &[usize], solver: Solver, l2: f64) {
    let (n_x, m) = (6, 9);
    let mut rng = NumpyRandn::new(7);
    let x = rng.randn_matrix(n_x, m);
    let y: Vec<u8> = (0..m).map(|j| u8::from(j % 3 != 0)).collect();
    let alpha = 1.0;
    let hyper = Hyperparams::builder()
        .hidden(hidden.to_vec())
        .iterations(1)
        .learning_rate(alpha)
        .l2(l2)
        .seed(3)
        .solver(solver)
        .build()
        .unwrap();
    let trained = hyper
        .fit(x.clone(), &y, |_| std::ops::ControlFlow::Continue(()))
        .unwrap();
    let (w0, b0) = initial(&hyper.dims(n_x), 3);
    let eps = 1e-6;
    let mut worst: f64 = 0.0;
    for l in 0..w0.len() {
        for idx in 0..w0[l].len() {
            let (r, c) = (idx / w0[l].ncols(), idx % w0[l].ncols());
            let used = (w0[l][[r, c]] - trained.network.weights()[l][[r, c]]) / alpha;
            let mut plus = w0.clone();
            plus[l][[r, c]] += eps;
            let mut minus = w0.clone();
            minus[l][[r, c]] -= eps;
            let fd = (cost(&plus, &b0, &x, &y, l2) - cost(&minus, &b0, &x, &y, l2)) / (2.0 * eps);
            let err = (used - fd).abs() / (used.abs() + fd.abs()).max(1e-8);
            worst = worst.max(err);
            assert!(
                err < 1e-6,
                "layer {} W[{r},{c}]: trainer {used}, finite difference {fd}",
                l + 1
            );
        }
        for i in 0..b0[l].len() {
            let used = (b0[l][i] - trained.network.biases()[l][i]) / alpha;
            let mut plus = b0.clone();
            plus[l][i] += eps;
            let mut minus = b0.clone();
            minus[l][i] -= eps;
            let fd = (cost(&w0, &plus, &x, &y, l2) - cost(&w0, &minus, &x, &y, l2)) / (2.0 * eps);
            let err = (used - fd).abs() / (used.abs() + fd.abs()).max(1e-8);
            worst = worst.max(err);
            assert!(
                err < 1e-6,
                "layer {} b[{i}]: trainer {used}, finite difference {fd}",
                l + 1
            );
        }
    }
    eprintln!("hidden {hidden:?} {solver:?} l2 {l2}: worst relative error {worst:.2e}");
}

#[test]
fn logistic_regression_gradients() {
    for solver in [Solver::Gram, Solver::Direct] {
        check(&[], solver, 0.0);
        check(&[], solver, 0.7);
    }
}

#[test]
fn three_layer_network_gradients() {
    for solver in [Solver::Gram, Solver::Direct] {
        check(&[5, 4], solver, 0.0);
        check(&[5, 4], solver, 0.3);
    }
}
