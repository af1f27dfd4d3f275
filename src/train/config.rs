//! What a training run is asked to do: [`TrainConfig`] (optimiser, batches, reduction, epochs,
//! threshold) and [`RunOptions`] (schedule, penalty, threads), each with a builder.

use super::{BatchMode, Optimiser};
use crate::error::{Error, Result};
use crate::nn::Reduction;

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
/// no penalty, one thread (what [`super::train`] uses).
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
