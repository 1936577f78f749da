//! Noticing a training run that went wrong without overflowing. A learning rate far too large
//! does not always make the cost infinite (that is [`crate::Error::Diverged`]): the steps can
//! overshoot back and forth at a cost far above where they started, or into a network whose
//! units are all dead and which answers one class for every image. Such a model is kept (it is
//! what was asked for), with a message that says what happened.

use serde::Serialize;

/// What went wrong with a run that ended with finite weights.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Warning {
    /// Train accuracy below that of always answering the train split's majority class: the
    /// model learnt nothing (typically every unit of a deep network died and it answers the
    /// minority class for everything).
    WorseThanMajority {
        /// Accuracy on the train split, in [0, 1].
        train_accuracy: f64,
        /// Accuracy of always answering the majority class, in [0, 1].
        majority: f64,
        learning_rate: f64,
    },
    /// The final cost is above the first recorded one: the steps overshot.
    CostRose {
        /// Cost at the first recorded iteration (normally iteration 0, about ln 2 = 0.693).
        first_cost: f64,
        /// Cost of the final weights on the train split.
        final_cost: f64,
        learning_rate: f64,
    },
}

const ADVICE: &str = "try a smaller learning rate (the defaults are 0.005 for logistic \
                      regression and 0.0075 for the deep networks)";

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Warning::WorseThanMajority {
                train_accuracy,
                majority,
                learning_rate,
            } => write!(
                f,
                "training did not learn: with learning rate {learning_rate} the model is right on \
                 {:.1}% of the training images, worse than always giving the most common answer \
                 ({:.1}%); {ADVICE}",
                100.0 * train_accuracy,
                100.0 * majority
            ),
            Warning::CostRose {
                first_cost,
                final_cost,
                learning_rate,
            } => write!(
                f,
                "training did not converge: the cost rose from {first_cost:.4} to \
                 {final_cost:.4} with learning rate {learning_rate}, so the steps overshoot and \
                 the probabilities are unreliable; {ADVICE}"
            ),
        }
    }
}

/// Checks a run that ran all its iterations (one stopped early is not judged: it may simply not
/// have got far). `costs`: `(iteration, cost)` as recorded, in order; `final_cost`: the cost of
/// the final weights; accuracies in [0, 1]. `None` when the run did better than the majority
/// class on the train split and ended with a lower cost than it started with.
pub fn check(
    costs: &[(usize, f64)],
    final_cost: f64,
    learning_rate: f64,
    train_accuracy: f64,
    majority: f64,
) -> Option<Warning> {
    let &(_, first_cost) = costs.first()?;
    if train_accuracy < majority {
        return Some(Warning::WorseThanMajority {
            train_accuracy,
            majority,
            learning_rate,
        });
    }
    (final_cost > first_cost).then_some(Warning::CostRose {
        first_cost,
        final_cost,
        learning_rate,
    })
}
