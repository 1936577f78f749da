//! Noticing a training run that made things worse. A learning rate far too large does not
//! always overflow (that is [`crate::Error::Diverged`]): the steps can overshoot into a network
//! whose units are all dead, which then predicts one class for everything at a cost higher than
//! where it started. Such a model is kept (it is what was asked for), but said to be useless.

use serde::Serialize;

/// A run whose final cost is above its first recorded cost.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NotConverged {
    /// Cost at the first recorded iteration (normally iteration 0, ~ln 2 = 0.693).
    pub first_cost: f64,
    /// Cost of the final weights on the training set.
    pub final_cost: f64,
    /// The learning rate of the run.
    pub learning_rate: f64,
}

impl std::fmt::Display for NotConverged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "training did not converge: the cost rose from {:.4} to {:.4} with learning rate {}, \
             so this model has learnt nothing useful; try a smaller learning rate (the defaults \
             are 0.005 for logistic regression and 0.0075 for the deep networks)",
            self.first_cost, self.final_cost, self.learning_rate
        )
    }
}

/// `costs`: `(iteration, cost)` as recorded during training, in order; `final_cost`: the cost
/// of the final weights. `None` when the run ended no higher than it started (or recorded
/// nothing to compare with).
pub fn check(costs: &[(usize, f64)], final_cost: f64, learning_rate: f64) -> Option<NotConverged> {
    let &(_, first_cost) = costs.first()?;
    (final_cost > first_cost).then_some(NotConverged {
        first_cost,
        final_cost,
        learning_rate,
    })
}
