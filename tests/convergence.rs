//! Learning rates far too large (10 and 100, against defaults of 0.005 and 0.0075) on the real
//! dataset: every run ends either with finite weights and costs, or with `Error::Diverged`;
//! a run whose cost rose is flagged by `convergence::check`, and none is left unexplained.

mod common;

use std::ops::ControlFlow;

use purrceptron::convergence;
use purrceptron::network::Hyperparams;
use purrceptron::Error;

#[test]
fn check_tells_worse_than_majority_from_a_rising_cost() {
    use convergence::Warning;
    // A run that learnt: lower cost, better than the majority.
    assert_eq!(
        convergence::check(&[(0, 0.69), (10, 0.5)], 0.4, 0.1, 0.9, 0.6),
        None
    );
    assert_eq!(convergence::check(&[], 0.4, 0.1, 0.2, 0.6), None);
    let w = convergence::check(&[(0, 0.69), (10, 3.0)], 0.74, 10.0, 0.9, 0.6).unwrap();
    assert_eq!(
        w,
        Warning::CostRose {
            first_cost: 0.69,
            final_cost: 0.74,
            learning_rate: 10.0
        }
    );
    let text = w.to_string();
    assert!(
        text.contains("rose from 0.6900 to 0.7400 with learning rate 10,"),
        "{text}"
    );
    // Worse than the majority class wins over a falling cost.
    let w = convergence::check(&[(0, 0.77)], 0.74, 10.0, 0.344, 0.656).unwrap();
    assert!(matches!(w, Warning::WorseThanMajority { .. }), "{w:?}");
    let text = w.to_string();
    assert!(
        text.contains("right on 34.4% of the training images") && text.contains("(65.6%)"),
        "{text}"
    );
}

#[test]
fn huge_learning_rates_end_finite_or_diverged_and_each_says_so() {
    let d = common::catvnoncat();
    let majority = d.train.majority_rate();
    let run = |hidden: &[usize], lr: f64, iterations: usize| {
        Hyperparams::builder()
            .hidden(hidden.to_vec())
            .iterations(iterations)
            .learning_rate(lr)
            .report_every(10)
            .build()
            .unwrap()
            .fit(&d.train, &d.train.labels, |_| ControlFlow::Continue(()))
    };
    for hidden in [vec![], vec![7], vec![20, 7, 5]] {
        for lr in [10.0, 100.0] {
            let what = format!("hidden {hidden:?}, lr {lr}");
            match run(&hidden, lr, 300) {
                Err(Error::Diverged { learning_rate, .. }) => assert_eq!(learning_rate, lr),
                Err(e) => panic!("{what}: unexpected error {e}"),
                Ok(t) => {
                    let r = &t.report;
                    assert!(
                        r.final_cost.is_finite(),
                        "{what}: final cost {}",
                        r.final_cost
                    );
                    assert!(
                        r.costs.iter().all(|c| c.1.is_finite()),
                        "{what}: a recorded cost is not finite"
                    );
                    let accuracy = t
                        .network
                        .accuracy_pixels(&d.train.pixels, &d.train.labels)
                        .unwrap();
                    let warning =
                        convergence::check(&r.costs, r.final_cost, lr, accuracy, majority);
                    println!(
                        "{what}: cost {:.4} -> {:.4}, train accuracy {accuracy:.3}: {warning:?}",
                        r.costs[0].1, r.final_cost
                    );
                    assert!(warning.is_some(), "{what}: no warning");
                }
            }
        }
    }
    // The default learning rate: nothing to say.
    let t = run(&[], 0.005, 2000).unwrap();
    let accuracy = t
        .network
        .accuracy_pixels(&d.train.pixels, &d.train.labels)
        .unwrap();
    let r = &t.report;
    assert_eq!(
        convergence::check(&r.costs, r.final_cost, 0.005, accuracy, majority),
        None
    );
}
