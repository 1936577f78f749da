//! L-layer networks: ReLU hidden layers, a sigmoid output, cross-entropy cost, full-batch
//! gradient descent with an optional L2 penalty. Logistic regression is the network with no
//! hidden layer (and zero initial weights, as in the classic exercise).
//!
//! Use: [`Hyperparams::builder`] -> [`HyperparamsBuilder::build`] (checked) ->
//! [`Hyperparams::fit`] (or a resumable [`Trainer`]) -> a fitted [`Network`] that predicts. An
//! untrained model cannot predict: there is no way to get a [`Network`] except by training or by
//! loading a validated file.
//!
//! ## Two exact solvers
//! [`Solver::Direct`] is the textbook algorithm: every iteration multiplies the first layer's
//! weights `W1` `(n1, n_x)` with the inputs `X` `(n_x, m)`.
//!
//! [`Solver::Gram`] (default) gives the same iterates with less work. With full-batch gradient
//! descent the update of `W1` is `W1 <- (1 - αλ/m) W1 - (α/m) dZ1 Xᵀ`, so at every step
//! `W1 = s W1_init + C Xᵀ` for a scalar `s` and a matrix `C` `(n1, m)`. Then
//! `W1 X = s (W1_init X) + C (XᵀX)`: the iterations run on the `m x m` Gram matrix
//! `K = XᵀX` and on `P = W1_init X`, computed once, instead of on `n_x`-long rows. `W1` is
//! materialised once at the end. The identity holds for plain gradient descent with L2 decay; a
//! per-coordinate optimiser (Adam) would break it.

mod exact;
mod hyperparams;
mod inputs;
mod model;
mod trainer;

pub use hyperparams::{
    Hyperparams, HyperparamsBuilder, Solver, DEFAULT_ITERATIONS, DEFAULT_LEARNING_RATE,
    DEFAULT_REPORT_EVERY, DEFAULT_SEED, MAX_HIDDEN_LAYERS, MAX_ITERATIONS, MAX_UNITS,
};
pub use inputs::Inputs;
pub use model::Network;
pub use trainer::{Progress, TrainReport, Trained, Trainer};
