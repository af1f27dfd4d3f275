//! Training: epochs over associations (full batch as in the tutorial, mini-batch or stochastic
//! with seeded shuffling), optimisers, stopping, divergence; for any graph with a loss node
//! ([`train_graph`]) and for a layered network ([`train`], [`train_with`]), which is one user of
//! the same loop.
//!
//! Gradients come from a [`Batch`] of the loss (the graph's reverse sweep over blocks of
//! associations); this module owns only the schedule and the update rules.

use rand::RngExt;

use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::graph::NodeId;
use crate::nn::{Init, Mlp, Reduction};
use crate::tape::Tape;

/// How the accumulated gradient changes the weights.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimiser {
    /// The tutorial's rule: `w = w - learning_rate * dE/dw`.
    GradientDescent {
        /// The step size `epsilon`.
        learning_rate: f64,
    },
    /// `v = momentum * v + dE/dw; w = w - learning_rate * v`.
    Momentum {
        /// The step size.
        learning_rate: f64,
        /// How much of the previous step is kept, in `[0, 1)` (commonly 0.9).
        momentum: f64,
    },
    /// Adam (Kingma & Ba): bias-corrected moving averages of the gradient and its square,
    /// `w = w - learning_rate * m_hat / (sqrt(v_hat) + epsilon)`.
    Adam {
        /// The step size (commonly 0.001).
        learning_rate: f64,
        /// Decay of the first moment (commonly 0.9).
        beta1: f64,
        /// Decay of the second moment (commonly 0.999).
        beta2: f64,
        /// Added to the denominator (commonly 1e-8).
        epsilon: f64,
    },
}

impl Optimiser {
    /// Adam with its usual constants and this learning rate.
    pub fn adam(learning_rate: f64) -> Optimiser {
        Optimiser::Adam {
            learning_rate,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
        }
    }

    /// The optimiser's learning rate.
    pub fn learning_rate(self) -> f64 {
        match self {
            Optimiser::GradientDescent { learning_rate }
            | Optimiser::Momentum { learning_rate, .. }
            | Optimiser::Adam { learning_rate, .. } => learning_rate,
        }
    }

    /// The same optimiser with another learning rate (for a schedule).
    pub fn with_learning_rate(self, rate: f64) -> Optimiser {
        match self {
            Optimiser::GradientDescent { .. } => Optimiser::GradientDescent {
                learning_rate: rate,
            },
            Optimiser::Momentum { momentum, .. } => Optimiser::Momentum {
                learning_rate: rate,
                momentum,
            },
            Optimiser::Adam {
                beta1,
                beta2,
                epsilon,
                ..
            } => Optimiser::Adam {
                learning_rate: rate,
                beta1,
                beta2,
                epsilon,
            },
        }
    }

    /// The name used on the command line: `gd`, `momentum`, `adam`.
    pub fn name(self) -> &'static str {
        match self {
            Optimiser::GradientDescent { .. } => "gd",
            Optimiser::Momentum { .. } => "momentum",
            Optimiser::Adam { .. } => "adam",
        }
    }

    fn validate(self) -> Result<()> {
        let bad = |name: &str, reason: String| {
            Err(Error::InvalidOption {
                name: name.into(),
                reason,
            })
        };
        let lr = self.learning_rate();
        if !(lr.is_finite() && lr > 0.0) {
            return bad(
                "learning rate",
                format!("must be a positive finite number, got {lr}"),
            );
        }
        match self {
            Optimiser::GradientDescent { .. } => Ok(()),
            Optimiser::Momentum { momentum, .. } if !(0.0..1.0).contains(&momentum) => {
                bad("momentum", format!("must be in [0, 1), got {momentum}"))
            }
            Optimiser::Momentum { .. } => Ok(()),
            Optimiser::Adam {
                beta1,
                beta2,
                epsilon,
                ..
            } => {
                if !(0.0..1.0).contains(&beta1) || !(0.0..1.0).contains(&beta2) {
                    bad(
                        "adam betas",
                        format!("must be in [0, 1), got {beta1} and {beta2}"),
                    )
                } else if !(epsilon.is_finite() && epsilon > 0.0) {
                    bad(
                        "adam epsilon",
                        format!("must be a positive finite number, got {epsilon}"),
                    )
                } else {
                    Ok(())
                }
            }
        }
    }
}

/// The optimiser's memory between steps.
#[derive(Clone, Debug)]
struct OptimiserState {
    first: Vec<f64>,
    second: Vec<f64>,
    steps: i32,
}

impl OptimiserState {
    fn new(params: usize) -> OptimiserState {
        OptimiserState {
            first: vec![0.0; params],
            second: vec![0.0; params],
            steps: 0,
        }
    }

    fn step(&mut self, optimiser: Optimiser, params: &mut [f64], grad: &[f64]) {
        self.steps = self.steps.saturating_add(1);
        match optimiser {
            Optimiser::GradientDescent { learning_rate } => {
                for (w, g) in params.iter_mut().zip(grad) {
                    *w -= learning_rate * g;
                }
            }
            Optimiser::Momentum {
                learning_rate,
                momentum,
            } => {
                for ((w, g), v) in params.iter_mut().zip(grad).zip(&mut self.first) {
                    *v = momentum * *v + g;
                    *w -= learning_rate * *v;
                }
            }
            Optimiser::Adam {
                learning_rate,
                beta1,
                beta2,
                epsilon,
            } => {
                let c1 = 1.0 - beta1.powi(self.steps);
                let c2 = 1.0 - beta2.powi(self.steps);
                for (((w, g), m), v) in params
                    .iter_mut()
                    .zip(grad)
                    .zip(&mut self.first)
                    .zip(&mut self.second)
                {
                    *m = beta1 * *m + (1.0 - beta1) * g;
                    *v = beta2 * *v + (1.0 - beta2) * g * g;
                    *w -= learning_rate * (*m / c1) / ((*v / c2).sqrt() + epsilon);
                }
            }
        }
    }
}

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

/// Everything a training run needs besides the network and the data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainConfig {
    /// The update rule.
    pub optimiser: Optimiser,
    /// Associations per step.
    pub batch: BatchMode,
    /// How associations' errors combine (per step and in the reported error).
    pub reduction: Reduction,
    /// The most epochs to run.
    pub max_epochs: usize,
    /// Stop once an epoch's error is below this (0: never).
    pub error_threshold: f64,
    /// Seed of the shuffling.
    pub seed: u64,
    /// Associations evaluated at once by the graph (a speed setting; results do not depend on
    /// it beyond rounding).
    pub lanes: usize,
}

impl TrainConfig {
    /// The tutorial's training: full-batch gradient descent with this learning rate, summed
    /// error, up to `max_epochs` epochs, no threshold.
    pub fn gradient_descent(learning_rate: f64, max_epochs: usize) -> TrainConfig {
        TrainConfig {
            optimiser: Optimiser::GradientDescent { learning_rate },
            batch: BatchMode::Full,
            reduction: Reduction::Sum,
            max_epochs,
            error_threshold: 0.0,
            seed: 0,
            lanes: 64,
        }
    }

    /// Full-batch training with `optimiser`, summed error, at most 1000 epochs, no threshold,
    /// seed 0, blocks of 64: change any of it with the `with_*` methods.
    ///
    /// # Examples
    /// ```
    /// use backprop::nn::Reduction;
    /// use backprop::train::{BatchMode, Optimiser, TrainConfig};
    /// let config = TrainConfig::new(Optimiser::adam(0.01))
    ///     .with_batch(BatchMode::MiniBatch(32))
    ///     .with_reduction(Reduction::Mean)
    ///     .with_max_epochs(50)
    ///     .with_error_threshold(1e-4);
    /// assert_eq!(config.max_epochs, 50);
    /// ```
    pub fn new(optimiser: Optimiser) -> TrainConfig {
        TrainConfig {
            optimiser,
            ..TrainConfig::gradient_descent(optimiser.learning_rate(), 1000)
        }
    }

    /// With this optimiser.
    pub fn with_optimiser(mut self, optimiser: Optimiser) -> TrainConfig {
        self.optimiser = optimiser;
        self
    }

    /// With this batch mode.
    pub fn with_batch(mut self, batch: BatchMode) -> TrainConfig {
        self.batch = batch;
        self
    }

    /// With this reduction.
    pub fn with_reduction(mut self, reduction: Reduction) -> TrainConfig {
        self.reduction = reduction;
        self
    }

    /// With at most this many epochs.
    pub fn with_max_epochs(mut self, max_epochs: usize) -> TrainConfig {
        self.max_epochs = max_epochs;
        self
    }

    /// Stopping once an epoch's error is below `threshold`.
    pub fn with_error_threshold(mut self, threshold: f64) -> TrainConfig {
        self.error_threshold = threshold;
        self
    }

    /// With this shuffling seed.
    pub fn with_seed(mut self, seed: u64) -> TrainConfig {
        self.seed = seed;
        self
    }

    /// With blocks of up to this many associations.
    pub fn with_lanes(mut self, lanes: usize) -> TrainConfig {
        self.lanes = lanes;
        self
    }

    /// Checks the configuration for a data set of `associations` associations.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the first option out of its domain (a learning rate that
    /// is not positive and finite, 0 epochs, a batch size of 0 or larger than the data, ...).
    pub fn validate(&self, associations: usize) -> Result<()> {
        self.optimiser.validate()?;
        let bad = |name: &str, reason: String| {
            Err(Error::InvalidOption {
                name: name.into(),
                reason,
            })
        };
        if self.max_epochs == 0 {
            return bad("epochs", "must be at least 1, got 0".into());
        }
        if !(self.error_threshold.is_finite() && self.error_threshold >= 0.0) {
            return bad(
                "error threshold",
                format!("must be a finite number >= 0, got {}", self.error_threshold),
            );
        }
        if self.lanes == 0 {
            return bad("lanes", "must be at least 1, got 0".into());
        }
        if let BatchMode::MiniBatch(n) = self.batch
            && (n == 0 || n > associations)
        {
            return bad(
                "batch size",
                format!(
                    "must be between 1 and the number of associations ({associations}), got {n}"
                ),
            );
        }
        Ok(())
    }
}

/// How the learning rate changes over the epochs of a run.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Schedule {
    /// The optimiser's learning rate in every epoch.
    #[default]
    Constant,
    /// Linear decay, as micrograd's moons demo: in epoch `e = 0, 1, ..., max_epochs - 1`,
    /// `rate_e = rate * (1 - (1 - final_fraction) * e / max_epochs)`; with rate 1 and
    /// `final_fraction = 0.1` that is the demo's `1.0 - 0.9 * k / 100` for 100 steps.
    Linear {
        /// The fraction of the rate left after the last epoch, in `[0, 1]`.
        final_fraction: f64,
    },
}

impl Schedule {
    /// The learning rate of epoch `epoch` (from 0) of `epochs`, for a base `rate`.
    pub fn rate(self, rate: f64, epoch: usize, epochs: usize) -> f64 {
        match self {
            Schedule::Constant => rate,
            Schedule::Linear { final_fraction } => {
                rate * (1.0 - (1.0 - final_fraction) * epoch as f64 / epochs as f64)
            }
        }
    }
}

/// Settings of a training run beyond [`TrainConfig`]: a learning-rate schedule, an L2 penalty on
/// the weights and the number of worker threads. The default is none of them: a constant rate,
/// no penalty, one thread (what [`train`] uses).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunOptions {
    /// How the learning rate changes over the epochs.
    pub schedule: Schedule,
    /// `alpha` of the penalty `alpha * sum_p p^2` over every parameter (biases too), added to
    /// each step's error; its gradient `2 alpha p` is added to the graph's gradient. 0: none.
    pub l2: f64,
    /// Threads that evaluate blocks of associations in parallel. Results are bit-identical for
    /// any number of threads: associations are split into shards that do not depend on it, and
    /// the shards' gradients are summed in shard order.
    pub threads: usize,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            schedule: Schedule::Constant,
            l2: 0.0,
            threads: 1,
        }
    }
}

impl RunOptions {
    /// With this schedule.
    pub fn with_schedule(mut self, schedule: Schedule) -> RunOptions {
        self.schedule = schedule;
        self
    }

    /// With this L2 penalty.
    pub fn with_l2(mut self, alpha: f64) -> RunOptions {
        self.l2 = alpha;
        self
    }

    /// With this many threads.
    pub fn with_threads(mut self, threads: usize) -> RunOptions {
        self.threads = threads;
        self
    }

    /// Checks the options.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the first option out of its domain (0 threads, a
    /// negative or non-finite penalty, ...).
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &str, reason: String| {
            Err(Error::InvalidOption {
                name: name.into(),
                reason,
            })
        };
        if let Schedule::Linear { final_fraction } = self.schedule
            && !(0.0..=1.0).contains(&final_fraction)
        {
            return bad(
                "schedule",
                format!("the final fraction must be in [0, 1], got {final_fraction}"),
            );
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return bad(
                "l2",
                format!("must be a finite number >= 0, got {}", self.l2),
            );
        }
        if self.threads == 0 {
            return bad("threads", "must be at least 1, got 0".into());
        }
        Ok(())
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
    let (n_in, n_out) = (net.sizes()[0], net.sizes()[net.layers()]);
    let t_count = net.association_count(inputs, targets)?;
    config.validate(t_count)?;
    options.validate()?;
    check_finite(inputs, n_in, "input")?;
    check_finite(targets, n_out, "target")?;
    let lanes = config.lanes.min(config.batch.size(t_count));
    let mut batch = net.batch_with_threads(lanes, options.threads)?;
    // the network's tape takes each association's inputs, then its targets
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

/// Trains any graph: gradient steps on `params` (one value per parameter of `tape`, in slot
/// order) that lower the error `E = sum_t loss_t` (or its mean, as `config.reduction` says)
/// over the associations of `data`, each `loss_t` the value of node `loss` for association `t`.
/// `data` holds the associations one after the other, one value per input leaf of the tape in
/// slot order (targets are input leaves like any other: the graph's loss node reads them).
/// Everything else is as [`train_with`]: batch modes, optimisers, the error threshold,
/// divergence, the history.
///
/// # Errors
/// [`Error::InvalidOption`] for a bad configuration or a `loss` that is a leaf;
/// [`Error::NoAssociations`] for empty data; [`Error::Shape`] for data that is not a whole
/// number of associations; [`Error::ParamCount`] for `params` of the wrong length;
/// [`Error::NonFiniteConstant`] naming the first non-finite value of `data`;
/// [`Error::Diverged`] when an epoch's error or a parameter stops being finite, in which case
/// `params` keeps the values it had at the start of that epoch (the last finite ones).
///
/// # Examples
/// ```
/// use backprop::Graph;
/// use backprop::train::{train_graph, RunOptions, TrainConfig};
/// // fit y = w x + b to three points of y = 2x - 1, by half squared error
/// let g = Graph::new();
/// let (x, target) = (g.input("x"), g.input("target"));
/// let (w, b) = (g.param("w", 0.0), g.param("b", 0.0));
/// let loss = (x * w + b - target).powf(2.0) * 0.5;
/// let tape = g.compile()?;
/// let data = [0.0, -1.0, 1.0, 1.0, 2.0, 3.0]; // (x, target) per association
/// let mut params = tape.initial_params().to_vec();
/// let config = TrainConfig::gradient_descent(0.1, 2000);
/// train_graph(&tape, loss, &mut params, &data, &config, &RunOptions::default(), |_, _| {})?;
/// assert!((params[0] - 2.0).abs() < 1e-6 && (params[1] + 1.0).abs() < 1e-6);
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn train_graph(
    tape: &Tape,
    loss: impl Into<NodeId>,
    params: &mut [f64],
    data: &[f64],
    config: &TrainConfig,
    options: &RunOptions,
    on_epoch: impl FnMut(usize, f64),
) -> Result<History> {
    let t_count = tape.association_count(data)?;
    if t_count == 0 {
        return Err(Error::NoAssociations);
    }
    if params.len() != tape.param_count() {
        return Err(Error::ParamCount {
            expected: tape.param_count(),
            got: params.len(),
        });
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
    fit(
        &mut batch,
        params,
        &[(data, n_in)],
        t_count,
        config,
        options,
        on_epoch,
    )
}

/// The training loop of [`train_with`] and [`train_graph`], on a batch of the loss: `data`
/// holds `t_count` associations as column blocks `(values, width)`, each association's input
/// values being the concatenation of its rows in the blocks, in input-slot order.
fn fit(
    batch: &mut Batch,
    params: &mut [f64],
    data: &[(&[f64], usize)],
    t_count: usize,
    config: &TrainConfig,
    options: &RunOptions,
    mut on_epoch: impl FnMut(usize, f64),
) -> Result<History> {
    let batch_size = config.batch.size(t_count);
    let mut grad = vec![0.0; params.len()];
    let mut state = OptimiserState::new(grad.len());
    let mut order: Vec<usize> = (0..t_count).collect();
    let mut rng = Init::rng(config.seed);
    let mut chunk_data: Vec<Vec<f64>> = vec![Vec::new(); data.len()];
    let mut errors = Vec::new();
    let mut start_params = params.to_vec();
    for epoch in 1..=config.max_epochs {
        start_params.copy_from_slice(params);
        let optimiser = config.optimiser.with_learning_rate(options.schedule.rate(
            config.optimiser.learning_rate(),
            epoch - 1,
            config.max_epochs,
        ));
        if config.batch != BatchMode::Full {
            for i in (1..t_count).rev() {
                order.swap(i, rng.random_range(0..=i));
            }
        }
        let mut epoch_error = 0.0;
        for chunk in order.chunks(batch_size) {
            grad.fill(0.0);
            let weight = config.reduction.weight(chunk.len());
            let e = if config.batch == BatchMode::Full {
                batch.run(params, data, t_count, weight, &mut grad)?
            } else {
                for (gathered, &(values, width)) in chunk_data.iter_mut().zip(data) {
                    gathered.clear();
                    for &t in chunk {
                        gathered.extend_from_slice(&values[t * width..(t + 1) * width]);
                    }
                }
                let blocks: Vec<(&[f64], usize)> = chunk_data
                    .iter()
                    .zip(data)
                    .map(|(gathered, &(_, width))| (&gathered[..], width))
                    .collect();
                batch.run(params, &blocks, chunk.len(), weight, &mut grad)?
            } * weight;
            let penalty = if options.l2 > 0.0 {
                l2_penalty(options.l2, params, &mut grad)
            } else {
                0.0
            };
            epoch_error += match config.reduction {
                Reduction::Sum => e,
                Reduction::Mean => e * chunk.len() as f64 / t_count as f64,
            } + penalty;
            state.step(optimiser, params, &grad);
        }
        if !epoch_error.is_finite() || params.iter().any(|w| !w.is_finite()) {
            params.copy_from_slice(&start_params);
            return Err(Error::Diverged {
                epoch,
                error: epoch_error,
            });
        }
        errors.push(epoch_error);
        on_epoch(epoch, epoch_error);
        if epoch_error < config.error_threshold {
            return Ok(History {
                errors,
                reached_threshold: true,
            });
        }
    }
    Ok(History {
        errors,
        reached_threshold: false,
    })
}

/// `alpha * sum_p p^2`, with its gradient `2 alpha p` added to `grad`.
fn l2_penalty(alpha: f64, params: &[f64], grad: &mut [f64]) -> f64 {
    let mut sum = 0.0;
    for (g, &p) in grad.iter_mut().zip(params) {
        sum += p * p;
        *g += 2.0 * alpha * p;
    }
    alpha * sum
}

/// The first non-finite value of `data` (`width` values per association), named.
fn check_finite(data: &[f64], width: usize, what: &str) -> Result<()> {
    match data.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(k) => Err(Error::NonFiniteConstant {
            what: format!("{what} {} of association {}", k % width, k / width),
            value: data[k],
        }),
    }
}
