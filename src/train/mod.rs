//! Training: epochs over associations (full batch as in the tutorial, mini-batch or stochastic
//! with seeded shuffling), optimisers, stopping, divergence; for any graph with a loss node
//! ([`train_graph`]) and for a layered network ([`train`], [`train_with`]), which is one user of
//! the same loop.
//!
//! `config.rs`: what a run is asked to do; `optimiser.rs`: the update rules; `fit.rs`: the one
//! loop; `resume.rs`: the same rules in slices that stop between updates ([`Trainer`], for the
//! playground's bounded requests).
//!
//! Gradients come from a [`crate::Batch`] of the loss (the graph's reverse sweep over blocks of
//! associations); this module owns only the schedule and the update rules.

mod config;
mod fit;
mod optimiser;
mod resume;

pub use config::{RunOptions, Schedule, TrainConfig};
pub use optimiser::Optimiser;
pub use resume::{FULL_BATCH_PIECE, Slice, Trainer};

use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::graph::NodeId;
use crate::nn::Mlp;
use crate::tape::Tape;
use fit::{check_finite, fit};
use optimiser::OptimiserState;

/// Which associations make up one gradient step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchMode {
    /// All associations, one step per epoch (the tutorial's way).
    Full,
    /// Shuffled batches of this many associations (the last may be smaller).
    MiniBatch(usize),
    /// One association per step, shuffled.
    Stochastic,
}

impl BatchMode {
    /// Associations per step, out of `associations`.
    fn size(self, associations: usize) -> usize {
        match self {
            BatchMode::Full => associations,
            BatchMode::MiniBatch(n) => n,
            BatchMode::Stochastic => 1,
        }
    }
}

/// What happened in a training run.
#[derive(Clone, Debug, PartialEq)]
pub struct History {
    /// The error of each epoch (accumulated over its steps, each at the weights it started with).
    pub errors: Vec<f64>,
    /// Whether training stopped because an epoch's error fell below
    /// [`TrainConfig::error_threshold`].
    pub reached_threshold: bool,
    /// With [`train_with_held_out`]: the mean error per association of the held-out data at
    /// the weights each epoch ended with, `(1/T) sum_t E_t`; empty otherwise.
    pub held_out_errors: Vec<f64>,
}

impl History {
    /// The number of epochs run.
    pub fn epochs(&self) -> usize {
        self.errors.len()
    }

    /// The last epoch's error.
    pub fn final_error(&self) -> Option<f64> {
        self.errors.last().copied()
    }
}

/// Trains `net` on the associations (`inputs`: `T x width(0)`, `targets`: `T x width(L)`).
/// `on_epoch(epoch, error)` is called after every epoch (epochs count from 1).
///
/// # Errors
/// [`Error::InvalidOption`] for a bad configuration; [`Error::NoAssociations`] for empty data;
/// [`Error::Shape`] for data that does not fit the network; [`Error::Diverged`] when an epoch's error or a weight stops being finite, in
/// which case `net` keeps the weights it had at the start of that epoch (the last finite ones).
///
/// # Examples
/// ```
/// use backprop::nn::{Activation, Init, MlpSpec};
/// use backprop::train::{train, TrainConfig};
/// let (inputs, targets) = backprop::tutorial::xor();
/// let mut net = MlpSpec::new(&[2, 2, 1], Activation::Sigmoid, Activation::Identity)
///     .with_init(Init::Uniform { low: -1.0, high: 1.0 })
///     .with_seed(0)
///     .build()?;
/// let history = train(&mut net, &inputs, &targets, &TrainConfig::gradient_descent(0.2, 5000), |_, _| {})?;
/// assert!(history.final_error().unwrap() < 1e-3);
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn train(
    net: &mut Mlp,
    inputs: &[f64],
    targets: &[f64],
    config: &TrainConfig,
    on_epoch: impl FnMut(usize, f64),
) -> Result<History> {
    train_with(
        net,
        inputs,
        targets,
        config,
        &RunOptions::default(),
        on_epoch,
    )
}

/// [`train`] with a learning-rate schedule, an L2 penalty and worker threads.
///
/// # Errors
/// As [`train`]; [`Error::InvalidOption`] for bad options.
///
/// # Examples
/// ```
/// use backprop::nn::{Activation, Init, MlpSpec};
/// use backprop::train::{train_with, RunOptions, Schedule, TrainConfig};
/// let (inputs, targets) = backprop::tutorial::xor();
/// let mut net = MlpSpec::new(&[2, 2, 1], Activation::Sigmoid, Activation::Identity)
///     .with_init(Init::Uniform { low: -1.0, high: 1.0 })
///     .build()?;
/// let options = RunOptions::default()
///     .with_schedule(Schedule::Linear { final_fraction: 0.5 })
///     .with_threads(2);
/// let history = train_with(&mut net, &inputs, &targets,
///     &TrainConfig::gradient_descent(0.4, 5000), &options, |_, _| {})?;
/// assert!(history.final_error().unwrap() < history.errors[0]);
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn train_with(
    net: &mut Mlp,
    inputs: &[f64],
    targets: &[f64],
    config: &TrainConfig,
    options: &RunOptions,
    on_epoch: impl FnMut(usize, f64),
) -> Result<History> {
    let (mut batch, t_count) = layered_batch(net, inputs, targets, config, options)?;
    // the network's tape takes each association's inputs, then its targets
    let (n_in, n_out) = (net.sizes()[0], net.sizes()[net.layers()]);
    let data = [(inputs, n_in), (targets, n_out)];
    let history = fit(
        &mut batch,
        net.params_in_training(),
        &data,
        t_count,
        config,
        options,
        on_epoch,
    );
    net.sync();
    history
}

/// What every run on a layered network starts with: the data checked against the network
/// (shape, finite values) and the configuration and options against the data; then the batch
/// of the network's loss, with its lanes and threads. Returns the batch and the number of
/// associations.
fn layered_batch(
    net: &Mlp,
    inputs: &[f64],
    targets: &[f64],
    config: &TrainConfig,
    options: &RunOptions,
) -> Result<(Batch, usize)> {
    let (n_in, n_out) = (net.sizes()[0], net.sizes()[net.layers()]);
    let t_count = net.association_count(inputs, targets)?;
    config.validate(t_count)?;
    options.validate()?;
    check_finite(inputs, n_in, "input")?;
    check_finite(targets, n_out, "target")?;
    let lanes = config.lanes.min(config.batch.size(t_count));
    Ok((net.batch_with_threads(lanes, options.threads)?, t_count))
}

/// [`train_with`], measuring after every epoch the mean error per association of the held-out
/// associations (`held_out_inputs`, `held_out_targets`) at the weights the epoch ended with,
/// into [`History::held_out_errors`]. The held-out data never changes the training: the
/// weights are those [`train_with`] gives.
///
/// # Errors
/// As [`train_with`]; the same checks of the held-out data.
///
/// # Complexity
/// One more forward and backward pass over the held-out data per epoch.
pub fn train_with_held_out(
    net: &mut Mlp,
    (inputs, targets): (&[f64], &[f64]),
    (held_out_inputs, held_out_targets): (&[f64], &[f64]),
    config: &TrainConfig,
    options: &RunOptions,
    mut on_epoch: impl FnMut(usize, f64),
) -> Result<History> {
    let (n_in, n_out) = (net.sizes()[0], net.sizes()[net.layers()]);
    let held_out_count = net.association_count(held_out_inputs, held_out_targets)?;
    check_finite(held_out_inputs, n_in, "held-out input")?;
    check_finite(held_out_targets, n_out, "held-out target")?;
    let mut held_out = net.batch(config.lanes.clamp(1, held_out_count))?;
    let held_out_data = [(held_out_inputs, n_in), (held_out_targets, n_out)];
    let held_out_laid = held_out.lay_out(&held_out_data, held_out_count);
    let weight = crate::nn::Reduction::Mean.weight(held_out_count);
    let mut grad = vec![0.0; net.params().len()];
    let mut held_out_errors = Vec::new();
    let mut failure = None;
    let (mut batch, t_count) = layered_batch(net, inputs, targets, config, options)?;
    let data = [(inputs, n_in), (targets, n_out)];
    let history = fit::fit_observed(
        &mut batch,
        net.params_in_training(),
        &data,
        t_count,
        config,
        options,
        |epoch, error, params| {
            on_epoch(epoch, error);
            if failure.is_none() {
                grad.fill(0.0);
                match held_out.run(
                    params,
                    &held_out_data,
                    Some(&held_out_laid),
                    held_out_count,
                    weight,
                    &mut grad,
                ) {
                    Ok(e) => held_out_errors.push(e * weight),
                    Err(e) => failure = Some(e),
                }
            }
        },
    );
    net.sync();
    if let Some(e) = failure {
        return Err(e);
    }
    let mut history = history?;
    history.held_out_errors = held_out_errors;
    Ok(history)
}

/// Trains any graph: gradient steps on the parameter values of `tape` (see
/// [`Tape::param_values`]) that lower the error `E = sum_t loss_t` (or its mean, as
/// `config.reduction` says) over the associations of `data`, each `loss_t` the value of node
/// `loss` for association `t`. The tape keeps the trained values, so that what comes next
/// ([`Tape::evaluate`], [`Tape::gradients`], a new workspace, [`crate::gradcheck::check_graph`])
/// reads them. `data` holds the associations one after the other, one value per input leaf of
/// the tape in slot order (targets are input leaves like any other: the graph's loss node reads
/// them); [`Tape::associations_by_label`] builds it from columns named by label. Everything
/// else is as [`train`]: batch modes, optimisers, the error threshold, divergence, the history.
/// [`train_graph_with`] adds a schedule, an L2 penalty, threads and a call per epoch.
///
/// # Errors
/// [`Error::InvalidOption`] for a bad configuration; [`Error::NotAnOp`] for a `loss` that is a
/// leaf; [`Error::NoAssociations`] for empty data; [`Error::PartialAssociation`] for data that
/// is not a whole number of associations; [`Error::NonFiniteConstant`] naming the first
/// non-finite value of `data`; [`Error::Diverged`] when an epoch's error or a parameter stops
/// being finite, in which case the tape keeps the values it had at the start of that epoch (the
/// last finite ones). On any other error the tape's values are left as they were.
///
/// # Examples
/// ```
/// use backprop::Graph;
/// use backprop::train::{train_graph, TrainConfig};
/// // fit y = w x + b to three points of y = 2x - 1, by half squared error
/// let g = Graph::new();
/// let (x, target) = (g.input("x"), g.input("target"));
/// let (w, b) = (g.param("w", 0.0), g.param("b", 0.0));
/// let loss = (x * w + b - target).powf(2.0) * 0.5;
/// let mut tape = g.compile()?;
/// let data = tape.associations_by_label([("x", [0.0, 1.0, 2.0]), ("target", [-1.0, 1.0, 3.0])])?;
/// let history = train_graph(&mut tape, loss, &data, &TrainConfig::gradient_descent(0.1, 2000))?;
/// let [w, b] = tape.param_values() else { unreachable!() };
/// assert!((w - 2.0).abs() < 1e-6 && (b + 1.0).abs() < 1e-6);
/// // the tape reads the trained values: the error of an association is the trained one
/// let e = tape.evaluate(&data[2..4], loss)?; // x = 1, target = 1
/// assert!(e < 1e-12 && history.final_error().unwrap() < 1e-6);
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn train_graph(
    tape: &mut Tape,
    loss: impl Into<NodeId>,
    data: &[f64],
    config: &TrainConfig,
) -> Result<History> {
    train_graph_with(tape, loss, data, config, &RunOptions::default(), |_, _| {})
}

/// [`train_graph`] with a learning-rate schedule, an L2 penalty and worker threads, and
/// `on_epoch(epoch, error)` called after every epoch (epochs count from 1).
///
/// # Errors
/// As [`train_graph`]; [`Error::InvalidOption`] for bad options.
pub fn train_graph_with(
    tape: &mut Tape,
    loss: impl Into<NodeId>,
    data: &[f64],
    config: &TrainConfig,
    options: &RunOptions,
    on_epoch: impl FnMut(usize, f64),
) -> Result<History> {
    let loss = loss.into();
    tape.check_op(loss, "the loss")?;
    let t_count = tape.association_count(data)?;
    if t_count == 0 {
        return Err(Error::NoAssociations);
    }
    config.validate(t_count)?;
    options.validate()?;
    let n_in = tape.input_count();
    check_finite(data, n_in, "input value")?;
    let lanes = config.lanes.min(config.batch.size(t_count));
    let mut batch = tape
        .batch(loss)?
        .with_lanes(lanes)?
        .with_threads(options.threads)?;
    let mut params = tape.param_values().to_vec();
    let history = fit(
        &mut batch,
        &mut params,
        &[(data, n_in)],
        t_count,
        config,
        options,
        on_epoch,
    );
    if matches!(history, Ok(_) | Err(Error::Diverged { .. })) {
        tape.set_param_values(&params)?;
    }
    history
}
