//! The training loop, one for every model: epochs of gradient steps on a batch of the loss.

use rand::RngExt;

use super::{BatchMode, History, OptimiserState, RunOptions, TrainConfig};
use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::nn::{Init, Reduction};

/// The training loop of [`train_with`] and [`train_graph`], on a batch of the loss: `data`
/// holds `t_count` associations as column blocks `(values, width)`, each association's input
/// values being the concatenation of its rows in the blocks, in input-slot order.
pub(super) fn fit(
    batch: &mut Batch,
    params: &mut [f64],
    data: &[(&[f64], usize)],
    t_count: usize,
    config: &TrainConfig,
    options: &RunOptions,
    mut on_epoch: impl FnMut(usize, f64),
) -> Result<History> {
    fit_observed(
        batch,
        params,
        data,
        t_count,
        config,
        options,
        |e, error, _| on_epoch(e, error),
    )
}

/// [`fit`], `on_epoch` also given the parameters each epoch ended with.
pub(super) fn fit_observed(
    batch: &mut Batch,
    params: &mut [f64],
    data: &[(&[f64], usize)],
    t_count: usize,
    config: &TrainConfig,
    options: &RunOptions,
    mut on_epoch: impl FnMut(usize, f64, &[f64]),
) -> Result<History> {
    let batch_size = config.batch.size(t_count);
    let mut grad = vec![0.0; params.len()];
    let mut state = OptimiserState::new(grad.len());
    let mut order: Vec<usize> = (0..t_count).collect();
    let mut rng = Init::rng(config.seed);
    let mut chunk_data: Vec<Vec<f64>> = vec![Vec::new(); data.len()];
    let mut errors = Vec::new();
    let mut start_params = params.to_vec();
    // every epoch of full-batch training reads the same data: laid out for the blocks once
    let laid_out = (config.batch == BatchMode::Full).then(|| batch.lay_out(data, t_count));
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
                batch.run(params, data, laid_out.as_ref(), t_count, weight, &mut grad)?
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
                batch.run(params, &blocks, None, chunk.len(), weight, &mut grad)?
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
        on_epoch(epoch, epoch_error, params);
        if epoch_error < config.error_threshold {
            return Ok(History {
                errors,
                reached_threshold: true,
                held_out_errors: Vec::new(),
            });
        }
    }
    Ok(History {
        errors,
        reached_threshold: false,
        held_out_errors: Vec::new(),
    })
}

/// `alpha * sum_p p^2`, with its gradient `2 alpha p` added to `grad`.
pub(super) fn l2_penalty(alpha: f64, params: &[f64], grad: &mut [f64]) -> f64 {
    let mut sum = 0.0;
    for (g, &p) in grad.iter_mut().zip(params) {
        sum += p * p;
        *g += 2.0 * alpha * p;
    }
    alpha * sum
}

/// The first non-finite value of `data` (`width` values per association), named.
pub(super) fn check_finite(data: &[f64], width: usize, what: &str) -> Result<()> {
    match data.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(k) => Err(Error::NonFiniteConstant {
            what: format!("{what} {} of association {}", k % width, k / width),
            value: data[k],
        }),
    }
}
