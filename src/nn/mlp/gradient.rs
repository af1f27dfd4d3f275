//! The error over many associations and its gradient: a [`Batch`] of the network's loss.

use super::Mlp;
use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::nn::Reduction;

impl Mlp {
    /// A reusable workspace for [`Mlp::batch_gradient`], evaluating `lanes` associations per
    /// pass.
    ///
    /// # Errors
    /// [`Error::NoLanes`] for 0 lanes.
    pub fn batch(&self, lanes: usize) -> Result<Batch> {
        self.batch_with_threads(lanes, 1)
    }

    /// [`Mlp::batch`] with `threads` worker threads (results do not depend on their number).
    ///
    /// # Errors
    /// [`Error::NoLanes`] for 0 lanes; [`Error::InvalidOption`] for 0 threads.
    pub fn batch_with_threads(&self, lanes: usize, threads: usize) -> Result<Batch> {
        let loss = self.loss.index() as u32;
        Batch::new(self.tape.clone(), self.plan.clone(), loss, lanes, threads)
    }

    /// The error `E` of the associations (`inputs`: `T x width(0)`, `targets`:
    /// `T x width(L)`, one after the other) under `reduction`, and its gradient with respect to
    /// every parameter, **added** to `grad` (the accumulation is the caller's to reset).
    ///
    /// Runs through the graph: forward and backward over blocks of `lanes` associations, each
    /// lane's backward seeded with `dE/dE_t` (1 for `Sum`, `1/T` for `Mean`).
    ///
    /// # Errors
    /// [`Error::NoAssociations`] for empty data; [`Error::Shape`] for data whose length is not
    /// `T` associations; [`Error::ParamCount`] for
    /// a `grad` of the wrong length; [`Error::WorkspaceMismatch`] for a batch of another network.
    pub fn batch_gradient(
        &self,
        batch: &mut Batch,
        inputs: &[f64],
        targets: &[f64],
        reduction: Reduction,
        grad: &mut [f64],
    ) -> Result<f64> {
        let t_count = self.association_count(inputs, targets)?;
        if grad.len() != self.params.len() {
            return Err(Error::ParamCount {
                expected: self.params.len(),
                got: grad.len(),
            });
        }
        if !batch.runs(&self.plan) {
            return Err(Error::WorkspaceMismatch {
                workspace_nodes: batch.tape().len(),
                tape_nodes: self.tape.len(),
            });
        }
        let weight = reduction.weight(t_count);
        let sources = [(inputs, self.spec.sizes[0]), (targets, self.targets.len())];
        let error = batch.run(&self.params, &sources, None, t_count, weight, grad)?;
        Ok(error * weight)
    }

    /// The error `E` of the associations under `reduction` and its gradient, in a fresh vector.
    ///
    /// # Errors
    /// As [`Mlp::batch_gradient`].
    pub fn gradient(
        &self,
        inputs: &[f64],
        targets: &[f64],
        reduction: Reduction,
    ) -> Result<(f64, Vec<f64>)> {
        let mut grad = vec![0.0; self.params.len()];
        let mut batch = self.batch(1)?;
        let e = self.batch_gradient(&mut batch, inputs, targets, reduction, &mut grad)?;
        Ok((e, grad))
    }

    /// The number of associations of `inputs` (`T x width(0)` values) and `targets`
    /// (`T x width(L)`), one after the other.
    ///
    /// # Errors
    /// [`Error::NoAssociations`] for no inputs; [`Error::Shape`] for inputs that are not a
    /// whole number of associations, or targets that are not one per association.
    pub(crate) fn association_count(&self, inputs: &[f64], targets: &[f64]) -> Result<usize> {
        let (n_in, n_out) = (self.spec.sizes[0], self.targets.len());
        if inputs.is_empty() {
            return Err(Error::NoAssociations);
        }
        let t_count = inputs.len() / n_in;
        if inputs.len() != t_count * n_in {
            return Err(Error::Shape {
                what: format!("input values (a whole number of associations of {n_in})"),
                expected: (t_count + 1) * n_in,
                got: inputs.len(),
            });
        }
        if targets.len() != t_count * n_out {
            return Err(Error::Shape {
                what: format!("target values ({n_out} for each of {t_count} associations)"),
                expected: t_count * n_out,
                got: targets.len(),
            });
        }
        Ok(t_count)
    }
}
