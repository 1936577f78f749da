//! Learning rates far too large (10 and 100, against defaults of 0.005 and 0.0075) on the real
//! dataset: every run ends either with finite weights and costs, or with `Error::Diverged`;
//! a run whose cost rose is flagged by `convergence::check`, and none is left unexplained.

mod common;

use std::ops::ControlFlow;

use purrceptron::convergence;
use purrceptron::network::Hyperparams;
use purrceptron::Error;

#[test]
fn check_flags_a_rise_only() {
    assert_eq!(convergence::check(&[], 1.0, 0.1), None);
    assert_eq!(convergence::check(&[(0, 0.69), (10, 0.5)], 0.4, 0.1), None);
    let w = convergence::check(&[(0, 0.69), (10, 3.0)], 0.74, 10.0).unwrap();
    assert_eq!((w.first_cost, w.final_cost, w.learning_rate), (0.69, 0.74, 10.0));
    let text = w.to_string();
    assert!(text.contains("0.6900 to 0.7400") && text.contains("learning rate 10"), "{text}");
}

#[test]
fn huge_learning_rates_end_finite_or_diverged_and_rises_are_flagged() {
    let d = common::catvnoncat();
    for hidden in [vec![], vec![7], vec![20, 7, 5]] {
        for lr in [10.0, 100.0] {
            let result = Hyperparams::builder()
                .hidden(hidden.clone())
                .iterations(300)
                .learning_rate(lr)
                .report_every(10)
                .build()
                .unwrap()
                .fit(d.train.inputs(), &d.train.labels, |_| ControlFlow::Continue(()));
            let what = format!("hidden {hidden:?}, lr {lr}");
            match result {
                Err(Error::Diverged { learning_rate, .. }) => assert_eq!(learning_rate, lr),
                Err(e) => panic!("{what}: unexpected error {e}"),
                Ok(t) => {
                    let r = &t.report;
                    assert!(r.final_cost.is_finite(), "{what}: final cost {}", r.final_cost);
                    assert!(r.costs.iter().all(|c| c.1.is_finite()), "{what}: a recorded cost is not finite");
                    let warning = convergence::check(&r.costs, r.final_cost, lr);
                    let first = r.costs[0].1;
                    let accuracy = t.network.accuracy_pixels(&d.train.pixels, &d.train.labels).unwrap();
                    eprintln!("{what}: cost {first:.4} -> {:.4}, train accuracy {accuracy:.3}, flagged {}",
                        r.final_cost, warning.is_some());
                    // Unflagged means the cost went down: then the run must have learnt
                    // something (logistic regression on this separable set does, at any rate).
                    if warning.is_none() {
                        assert!(r.final_cost <= first, "{what}");
                        assert!(accuracy > d.train.majority_rate(), "{what}: accuracy {accuracy} unflagged");
                    }
                }
            }
        }
    }
}
