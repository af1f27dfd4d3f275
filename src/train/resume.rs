//! Training in slices: a [`Trainer`] stops between any two updates (or, in full-batch mode,
//! between two pieces of an epoch's gradient) when its caller says so, and goes on from there at
//! the next call, with its optimiser's memory, the epoch's shuffled order, how far the epoch
//! went, and the error and gradient accumulated so far. A server gives each request a slice of
//! engine time this way, the first epoch included.
//!
//! It runs the rules of `fit.rs` (same shuffles from the same seed, same chunks, same updates):
//! mini-batch and stochastic training sliced anywhere gives the weights of one uninterrupted
//! [`super::train_with`] run bit for bit; full-batch training sums the epoch's gradient over
//! pieces of [`FULL_BATCH_PIECE`] associations, equal to the one-pass sum but for rounding.

use rand::RngExt;
use rand::rngs::Xoshiro256PlusPlus;

use super::{BatchMode, OptimiserState, RunOptions, TrainConfig};
use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::nn::{Init, Mlp, Reduction};

/// Associations per piece of a full-batch epoch's gradient: the finest grain at which a
/// full-batch [`Trainer`] can stop.
pub const FULL_BATCH_PIECE: usize = 256;

/// What one call of [`Trainer::run`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct Slice {
    /// The error of each epoch completed during the call (as [`super::History::errors`]).
    pub errors: Vec<f64>,
    /// Weight updates made.
    pub updates: usize,
    /// Associations evaluated (forward and backward).
    pub associations: usize,
    /// Whether an epoch's error fell below the configuration's threshold.
    pub reached_threshold: bool,
}

/// Training of one network on one data set that can stop and resume between updates (see the
/// module's documentation).
#[derive(Debug)]
pub struct Trainer {
    config: TrainConfig,
    options: RunOptions,
    batch: Batch,
    state: OptimiserState,
    rng: Xoshiro256PlusPlus,
    order: Vec<usize>,
    t_count: usize,
    /// Epochs completed.
    epochs: usize,
    /// Associations of the current epoch already used (0: the epoch has not started).
    done: usize,
    epoch_error: f64,
    /// Full batch: the current epoch's gradient so far.
    grad: Vec<f64>,
    /// The weights the current epoch started with (kept if it diverges).
    start_params: Vec<f64>,
    gathered: [Vec<f64>; 2],
}

impl Trainer {
    /// A trainer of `net` on these associations (`inputs`: `T x width(0)`, `targets`:
    /// `T x width(L)`), at epoch 0. `options`' schedule counts epochs up to
    /// `config.max_epochs`, as in [`super::train_with`].
    ///
    /// # Errors
    /// As [`super::train_with`] before its first epoch: [`Error::InvalidOption`],
    /// [`Error::NoAssociations`], [`Error::Shape`], [`Error::NonFiniteConstant`].
    pub fn new(
        net: &Mlp,
        inputs: &[f64],
        targets: &[f64],
        config: TrainConfig,
        options: RunOptions,
    ) -> Result<Trainer> {
        let (batch, t_count) = super::layered_batch(net, inputs, targets, &config, &options)?;
        let params = net.params().len();
        Ok(Trainer {
            config,
            options,
            batch,
            state: OptimiserState::new(params),
            rng: Init::rng(config.seed),
            order: (0..t_count).collect(),
            t_count,
            epochs: 0,
            done: 0,
            epoch_error: 0.0,
            grad: vec![0.0; params],
            start_params: Vec::new(),
            gathered: [Vec::new(), Vec::new()],
        })
    }

    /// The configuration it trains with.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The options it trains with.
    pub fn options(&self) -> &RunOptions {
        &self.options
    }

    /// Epochs completed.
    pub fn epochs(&self) -> usize {
        self.epochs
    }

    /// Associations of the current epoch already used, out of all of them.
    pub fn progress(&self) -> (usize, usize) {
        (self.done, self.t_count)
    }

    /// Trains `net` from where the last call stopped: updates (or full-batch pieces) one after
    /// the other while `more(associations evaluated so far in this call)` says so (it is asked
    /// after each, never before the first), and at most until `max_epochs` more epochs are
    /// complete or an epoch's error falls below the threshold. `inputs` and `targets` must be
    /// those the trainer was made with.
    ///
    /// # Errors
    /// [`Error::Shape`] for data of another size than the trainer's; [`Error::Diverged`] when an
    /// epoch's error or a weight stops being finite, in which case `net` keeps the weights it
    /// had at the start of that epoch and the trainer starts that epoch again at the next call;
    /// [`Error::WorkspaceMismatch`] for another network than the trainer's.
    pub fn run(
        &mut self,
        net: &mut Mlp,
        inputs: &[f64],
        targets: &[f64],
        max_epochs: usize,
        mut more: impl FnMut(usize) -> bool,
    ) -> Result<Slice> {
        if net.association_count(inputs, targets)? != self.t_count {
            return Err(Error::Shape {
                what: "associations (those the trainer was made with)".into(),
                expected: self.t_count,
                got: inputs.len() / net.sizes()[0],
            });
        }
        let n = (net.sizes()[0], net.sizes()[net.layers()]);
        let mut slice = Slice {
            errors: Vec::new(),
            updates: 0,
            associations: 0,
            reached_threshold: false,
        };
        let outcome =
            self.run_updates(net, (inputs, targets), n, max_epochs, &mut slice, &mut more);
        net.sync();
        outcome.map(|()| slice)
    }

    fn run_updates(
        &mut self,
        net: &mut Mlp,
        (inputs, targets): (&[f64], &[f64]),
        (n_in, n_out): (usize, usize),
        max_epochs: usize,
        slice: &mut Slice,
        more: &mut impl FnMut(usize) -> bool,
    ) -> Result<()> {
        let params = net.params_in_training();
        let full = self.config.batch == BatchMode::Full;
        while slice.errors.len() < max_epochs
            && (slice.associations == 0 || more(slice.associations))
        {
            if self.done == 0 {
                self.start_epoch(params);
            }
            let epoch = self.epochs + 1;
            let optimiser = self
                .config
                .optimiser
                .with_learning_rate(self.options.schedule.rate(
                    self.config.optimiser.learning_rate(),
                    epoch - 1,
                    self.config.max_epochs,
                ));
            let step = if full {
                FULL_BATCH_PIECE.min(self.t_count - self.done)
            } else {
                self.config
                    .batch
                    .size(self.t_count)
                    .min(self.t_count - self.done)
            };
            let e = if full {
                // a piece of the epoch's gradient: contiguous rows, weighted for all T
                let rows = self.done..self.done + step;
                let sources = [
                    (&inputs[rows.start * n_in..rows.end * n_in], n_in),
                    (&targets[rows.start * n_out..rows.end * n_out], n_out),
                ];
                let weight = self.config.reduction.weight(self.t_count);
                self.batch
                    .run(params, &sources, None, step, weight, &mut self.grad)?
                    * weight
            } else {
                self.grad.fill(0.0);
                let chunk = &self.order[self.done..self.done + step];
                for (gathered, (values, width)) in self
                    .gathered
                    .iter_mut()
                    .zip([(inputs, n_in), (targets, n_out)])
                {
                    gathered.clear();
                    for &t in chunk {
                        gathered.extend_from_slice(&values[t * width..(t + 1) * width]);
                    }
                }
                let sources = [
                    (&self.gathered[0][..], n_in),
                    (&self.gathered[1][..], n_out),
                ];
                let weight = self.config.reduction.weight(step);
                let e = self
                    .batch
                    .run(params, &sources, None, step, weight, &mut self.grad)?
                    * weight;
                match self.config.reduction {
                    Reduction::Sum => e,
                    Reduction::Mean => e * step as f64 / self.t_count as f64,
                }
            };
            self.done += step;
            slice.associations += step;
            let updates = !full || self.done == self.t_count;
            // as fit.rs: the penalty joins the error with the update it comes with
            let penalty = if updates && self.options.l2 > 0.0 {
                super::fit::l2_penalty(self.options.l2, params, &mut self.grad)
            } else {
                0.0
            };
            self.epoch_error += e + penalty;
            if updates {
                self.state.step(optimiser, params, &self.grad);
                slice.updates += 1;
            }
            if self.done == self.t_count {
                self.done = 0;
                let error = self.epoch_error;
                if !error.is_finite() || params.iter().any(|w| !w.is_finite()) {
                    params.copy_from_slice(&self.start_params);
                    return Err(Error::Diverged { epoch, error });
                }
                self.epochs = epoch;
                slice.errors.push(error);
                if error < self.config.error_threshold {
                    slice.reached_threshold = true;
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// The bookkeeping of a new epoch: its starting weights, its order, its sums at zero.
    fn start_epoch(&mut self, params: &[f64]) {
        self.start_params.clear();
        self.start_params.extend_from_slice(params);
        if self.config.batch != BatchMode::Full {
            for i in (1..self.t_count).rev() {
                self.order.swap(i, self.rng.random_range(0..=i));
            }
        }
        self.epoch_error = 0.0;
        self.grad.fill(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, MlpSpec};
    use crate::train::{Optimiser, train_with};

    /// 300 associations of a smooth function of two inputs: more than one full-batch piece.
    fn data() -> (Vec<f64>, Vec<f64>) {
        let (mut inputs, mut targets) = (Vec::new(), Vec::new());
        for t in 0..300 {
            let (a, b) = ((t as f64 * 0.37).sin(), (t as f64 * 0.11).cos());
            inputs.extend([a, b]);
            targets.push((a * b).tanh());
        }
        (inputs, targets)
    }

    fn net() -> Mlp {
        MlpSpec::new(&[2, 5, 1], Activation::Tanh, Activation::Identity)
            .with_init(Init::Uniform {
                low: -0.5,
                high: 0.5,
            })
            .with_seed(2)
            .build()
            .unwrap()
    }

    /// Runs `epochs` epochs in slices of at most `per_call` associations.
    fn sliced(config: TrainConfig, epochs: usize, per_call: usize) -> (Mlp, Vec<f64>) {
        let (inputs, targets) = data();
        let mut net = net();
        let mut trainer =
            Trainer::new(&net, &inputs, &targets, config, RunOptions::default()).unwrap();
        let mut errors = Vec::new();
        while trainer.epochs() < epochs {
            let slice = trainer
                .run(
                    &mut net,
                    &inputs,
                    &targets,
                    epochs - trainer.epochs(),
                    |done| done < per_call,
                )
                .unwrap();
            assert!(slice.associations <= per_call.max(FULL_BATCH_PIECE));
            errors.extend(slice.errors);
        }
        (net, errors)
    }

    #[test]
    fn sliced_mini_batch_training_gives_the_uninterrupted_runs_weights_bit_for_bit() {
        // the oracle: train_with, the loop of fit.rs, run in one go
        let (inputs, targets) = data();
        for (batch, optimiser) in [
            (BatchMode::MiniBatch(7), Optimiser::adam(0.01)),
            (
                BatchMode::Stochastic,
                Optimiser::Momentum {
                    learning_rate: 0.01,
                    momentum: 0.9,
                },
            ),
        ] {
            let config = TrainConfig::new(optimiser)
                .with_batch(batch)
                .with_reduction(Reduction::Mean)
                .with_max_epochs(3)
                .with_seed(5);
            let mut whole = net();
            let history = train_with(
                &mut whole,
                &inputs,
                &targets,
                &config,
                &RunOptions::default(),
                |_, _| {},
            )
            .unwrap();
            // slices of 20 associations: epochs end mid-slice, slices end mid-epoch
            let (net, errors) = sliced(config, 3, 20);
            assert_eq!(net.params(), whole.params(), "{batch:?}");
            assert_eq!(errors, history.errors, "{batch:?}");
        }
    }

    #[test]
    fn sliced_full_batch_training_sums_the_epochs_gradient_over_pieces() {
        // 300 associations: pieces of 256 and 44, one update per epoch; the sum differs from
        // the one-pass sum only by rounding (relative 1e-12 is a thousand times the rounding
        // of a few hundred additions of terms below 1)
        let (inputs, targets) = data();
        let config = TrainConfig::gradient_descent(0.01, 4);
        let mut whole = net();
        let history = train_with(
            &mut whole,
            &inputs,
            &targets,
            &config,
            &RunOptions::default(),
            |_, _| {},
        )
        .unwrap();
        let (net, errors) = sliced(config, 4, 1);
        for (a, b) in net.params().iter().zip(whole.params()) {
            assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{a} vs {b}");
        }
        for (a, b) in errors.iter().zip(&history.errors) {
            assert!((a - b).abs() <= 1e-12 * b.abs(), "{a} vs {b}");
        }
        assert_eq!(errors.len(), 4);
    }

    #[test]
    fn a_slice_makes_at_least_one_update_and_stops_when_told() {
        let (inputs, targets) = data();
        let mut net = net();
        let config = TrainConfig::new(Optimiser::adam(0.01)).with_batch(BatchMode::Stochastic);
        let mut trainer =
            Trainer::new(&net, &inputs, &targets, config, RunOptions::default()).unwrap();
        let slice = trainer
            .run(&mut net, &inputs, &targets, 10, |_| false)
            .unwrap();
        assert_eq!((slice.updates, slice.associations), (1, 1));
        assert_eq!(trainer.progress(), (1, 300));
        assert!(slice.errors.is_empty());
        // the network's graph holds the updated weights (synced)
        assert_ne!(net.params(), self::net().params());
    }
}
