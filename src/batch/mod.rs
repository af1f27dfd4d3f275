//! The driver of blocks of associations: the tape laid out again so that each op runs over a
//! block of up to 64 associations at once, and the blocks shared among threads.
//!
//! - `plan.rs` makes the `Plan` from a [`Tape`], through the tape's narrow interface
//!   (`Tape::for_each_op`, `Tape::leaves`): uniform leaves stored once, one row of lanes per
//!   varying node, products classified once; `steps.rs` is what a plan is made of (its steps,
//!   the products of its `dot` steps).
//! - `group.rs` finds the layers among the `dot` steps and runs each as one step, in tiles on
//!   8-lane vectors (4-lane ones in a block of 4), through `vector.rs` (a vector of lanes as a
//!   [`crate::op::Scalar`]).
//! - `block.rs` runs a plan's blocks: one loop forward, one loop backward over its steps, with
//!   [`crate::op`]'s rules applied lane by lane; `rows.rs` reads and writes a row of lanes.
//! - `workspace.rs`: one thread's buffers, and the block widths that have a kernel.
//! - `partials.rs`: the eight partial sums of each parameter's gradient, and their reduction.
//! - This file: [`Batch`], shards of whole blocks and the threads that take them.
//!
//! Anomaly mode is not a second set of checks here: a batch in anomaly mode first runs every
//! association through the tape's checked sweep, which names the first non-finite node.

mod block;
#[cfg(test)]
mod driver_tests;
mod group;
mod partials;
mod plan;
mod rows;
mod steps;
mod vector;
mod workspace;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use block::Inputs;
pub(crate) use plan::Plan;
use workspace::PlanWorkspace;
use workspace::block_width;

use crate::error::{Error, Result};
use crate::graph::NodeId;
use crate::tape::Tape;

/// The sum of one output over many associations and its gradient with respect to every
/// parameter, evaluated in blocks of associations on one or more threads.
///
/// Made by [`Tape::batch`] (or [`crate::nn::Mlp::batch`]); holds the re-laid tape and one
/// workspace per thread, reused across calls.
///
/// Associations are evaluated in blocks of up to `lanes` (a power of two up to 64: the widest
/// not above the request), split into shards whose length does not depend on the number of
/// threads; each shard's gradient is summed over its blocks in order, and the shards' gradients
/// in shard order, so results are bit-identical for any number of threads.
///
/// # Examples
/// ```
/// use backprop::Graph;
/// let g = Graph::new();
/// let (x, w) = (g.input("x"), g.param("w", 0.5));
/// let y = (x * w).tanh();
/// let tape = g.compile()?;
/// let mut batch = tape.batch(y)?;
/// let mut grad = vec![0.0];
/// let sum = batch.gradient(&[0.5], &[1.0, 2.0, 3.0], &mut grad)?;
/// let want: f64 = [1.0f64, 2.0, 3.0].iter().map(|x| (0.5 * x).tanh()).sum();
/// assert!((sum - want).abs() < 1e-15);
/// # Ok::<(), backprop::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Batch {
    tape: Arc<Tape>,
    plan: Arc<Plan>,
    output: u32,
    width: usize,
    workspaces: Vec<PlanWorkspace>,
    partials: Vec<f64>,
    /// The `threads - 1` worker threads (none for one thread), shared by clones.
    pool: Option<Arc<rayon::ThreadPool>>,
    anomaly: bool,
}

/// The widest block, and the default.
const MAX_LANES: usize = 64;

impl Tape {
    /// A [`Batch`] for the sum of `output` over associations: blocks of 64, one thread.
    ///
    /// # Errors
    /// [`Error::ForeignNode`]/[`Error::NodeAfterCompile`] for an output not in the graph;
    /// [`Error::InvalidOption`] for an output that is not an op (a leaf has no gradient to
    /// sum over associations).
    ///
    /// # Complexity
    /// O(nodes + edges) to lay the tape out; the workspace holds `2 * 8 * 64` bytes per input
    /// and op node.
    pub fn batch(&self, output: impl Into<NodeId>) -> Result<Batch> {
        let output: NodeId = output.into();
        let index = self.check(output)?;
        let mut is_op = false;
        self.for_each_op(|node, _, _| {
            is_op |= node == index;
            std::ops::ControlFlow::Continue(())
        });
        if !is_op {
            return Err(Error::InvalidOption {
                name: "batch output".into(),
                reason: format!("node {index} is a leaf, not an op"),
            });
        }
        let plan = Arc::new(Plan::new(self, index));
        Batch::new(Arc::new(self.clone()), plan, index, MAX_LANES, 1)
    }
}

impl Batch {
    pub(crate) fn new(
        tape: Arc<Tape>,
        plan: Arc<Plan>,
        output: u32,
        lanes: usize,
        threads: usize,
    ) -> Result<Batch> {
        if lanes == 0 {
            return Err(Error::NoLanes);
        }
        let mut batch = Batch {
            workspaces: vec![plan.workspace(lanes)],
            tape,
            plan,
            output,
            width: block_width(lanes),
            partials: Vec::new(),
            pool: None,
            anomaly: false,
        };
        batch.set_threads(threads)?;
        Ok(batch)
    }

    /// With blocks of up to `lanes` associations (the widest power of two up to 64 not above
    /// it). Results do not depend on it but for rounding: sums over a block are formed in
    /// partial sums of 8 lanes.
    ///
    /// # Errors
    /// [`Error::NoLanes`] for 0.
    pub fn with_lanes(mut self, lanes: usize) -> Result<Batch> {
        if lanes == 0 {
            return Err(Error::NoLanes);
        }
        self.width = block_width(lanes);
        self.workspaces = (0..self.workspaces.len())
            .map(|_| self.plan.workspace(lanes))
            .collect();
        Ok(self)
    }

    /// With `threads` threads (the calling one and `threads - 1` workers); results are
    /// bit-identical for any number.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for 0 threads, or if the workers cannot be started.
    pub fn with_threads(mut self, threads: usize) -> Result<Batch> {
        self.set_threads(threads)?;
        Ok(self)
    }

    fn set_threads(&mut self, threads: usize) -> Result<()> {
        if threads == 0 {
            return Err(Error::InvalidOption {
                name: "threads".into(),
                reason: "must be at least 1, got 0".into(),
            });
        }
        // The calling thread works too: the pool has the other `threads - 1`.
        self.pool = if threads > 1 {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads - 1)
                .thread_name(|k| format!("backprop-batch-{}", k + 1))
                .build()
                .map_err(|e| Error::InvalidOption {
                    name: "threads".into(),
                    reason: format!("could not start {} worker threads: {e}", threads - 1),
                })?;
            Some(Arc::new(pool))
        } else {
            None
        };
        self.workspaces = (0..threads)
            .map(|_| self.plan.workspace(self.width))
            .collect();
        Ok(())
    }

    /// Turns anomaly mode on or off. When on, every association first runs through the tape's
    /// checked sweep ([`crate::Workspace::set_anomaly_mode`]), which stops at the first node
    /// whose value or adjoint is not finite and reports it as [`Error::Anomaly`].
    pub fn set_anomaly_mode(&mut self, on: bool) {
        self.anomaly = on;
    }

    /// The sum of the output over the associations of `inputs` (`T x input_count` values, one
    /// association after the other) with parameters `params`, and the gradient of that sum with
    /// respect to every parameter, **added** to `grad` (the accumulation is the caller's to
    /// reset).
    ///
    /// A graph without input leaves has one association, given as no values.
    ///
    /// # Errors
    /// [`Error::NoAssociations`] for no inputs (to a graph that has input leaves);
    /// [`Error::PartialAssociation`] for inputs that are not a whole number of associations; [`Error::ParamCount`] for `params` or `grad` of the wrong
    /// length; in anomaly mode, [`Error::Anomaly`].
    pub fn gradient(&mut self, params: &[f64], inputs: &[f64], grad: &mut [f64]) -> Result<f64> {
        let count = self.tape.association_count(inputs)?;
        if count == 0 {
            return Err(Error::NoAssociations);
        }
        let n_in = self.tape.input_count();
        self.run(params, &[(inputs, n_in)], None, count, 1.0, grad)
    }

    /// The input values of `count` associations (as [`Batch::run`] takes them) laid out in the
    /// rows of this batch's blocks, for data that is run again and again (full-batch training):
    /// a run given them copies each block's rows instead of transposing its associations.
    pub(crate) fn lay_out(&self, sources: &[(&[f64], usize)], count: usize) -> LaidOut {
        let shards = Shards::new(count, self.width);
        LaidOut {
            values: block::lay_out(
                &self.plan,
                sources,
                (0..shards.count()).map(|s| shards.get(s)),
                self.width,
            ),
            count,
            width: self.width,
        }
    }

    /// The tape the batch runs.
    pub fn tape(&self) -> &Tape {
        &self.tape
    }

    /// Whether the batch runs `plan`.
    pub(crate) fn runs(&self, plan: &Arc<Plan>) -> bool {
        Arc::ptr_eq(&self.plan, plan)
    }

    /// The sum of the output over `count` associations, whose input values are the
    /// concatenation of their rows in `sources` (`(data, width)`: association `t` is
    /// `data[t * width..(t + 1) * width]`), in input-slot order, each lane's backward seeded
    /// with `seed`; the gradient is added to `grad`. `laid_out`, if made by [`Batch::lay_out`]
    /// from the same sources and count, is read instead of `sources` (but for anomaly mode's
    /// checks), with the same results.
    pub(crate) fn run(
        &mut self,
        params: &[f64],
        sources: &[(&[f64], usize)],
        laid_out: Option<&LaidOut>,
        count: usize,
        seed: f64,
        grad: &mut [f64],
    ) -> Result<f64> {
        let n_params = self.tape.param_count();
        for got in [params.len(), grad.len()] {
            if got != n_params {
                return Err(Error::ParamCount {
                    expected: n_params,
                    got,
                });
            }
        }
        if self.anomaly {
            self.check_each(params, sources, count, seed)?;
        }
        let plan = &*self.plan;
        let width = self.width;
        let inputs = match laid_out {
            Some(laid) if laid.count == count && laid.width == width => {
                Inputs::LaidOut(&laid.values)
            }
            _ => Inputs::Rows(sources),
        };
        let shards = Shards::new(count, width);
        let shard_count = shards.count();
        let threads = self.workspaces.len().min(shard_count);
        let mut sum = 0.0;
        match (&self.pool, threads) {
            (Some(pool), 2..) => {
                // Each shard's gradient and sum in a slot of its own, summed in shard order
                // below, so that the result does not depend on the number of threads. Threads
                // take the next shard as they come free (the calling thread from the start,
                // the pool's as they wake), so a late thread costs nothing but its share.
                let p = n_params + 1;
                // every slot is cleared by the thread that fills it, in parallel
                self.partials.resize(shard_count * p, 0.0);
                // a slot is locked once, by the thread that took its shard
                let slots: Vec<Mutex<&mut [f64]>> =
                    self.partials.chunks_exact_mut(p).map(Mutex::new).collect();
                let next = AtomicUsize::new(0);
                let done = AtomicUsize::new(0);
                let work = |ws: &mut PlanWorkspace| {
                    plan.set_params(ws, params);
                    loop {
                        let s = next.fetch_add(1, Ordering::Relaxed);
                        let Some(slot) = slots.get(s) else { break };
                        let mut part = slot.lock().unwrap_or_else(PoisonError::into_inner);
                        part.fill(0.0);
                        let (gradient, e) = part.split_at_mut(p - 1);
                        let (first, count) = shards.get(s);
                        e[0] = block::run(plan, ws, inputs, first, count, width, seed);
                        plan.take_gradients(ws, gradient);
                        done.fetch_add(1, Ordering::Release);
                    }
                };
                let (mine, theirs) = self.workspaces.split_at_mut(1);
                pool.in_place_scope(|scope| {
                    for ws in theirs.iter_mut().take(threads - 1) {
                        let work = &work;
                        scope.spawn(move |_| work(ws));
                    }
                    work(&mut mine[0]);
                    // The last shards of the others end soon after ours: wait for them
                    // awake, as the scope's own wait puts this thread to sleep and waking it
                    // again costs 10-20 µs on a VM.
                    wait_awake_until(|| done.load(Ordering::Acquire) == shard_count);
                });
                drop(slots);
                for part in self.partials.chunks_exact(p) {
                    for (g, v) in grad.iter_mut().zip(part) {
                        *g += v;
                    }
                    sum += part[p - 1];
                }
            }
            _ => {
                let ws = &mut self.workspaces[0];
                plan.set_params(ws, params);
                for s in 0..shard_count {
                    let (first, count) = shards.get(s);
                    sum += block::run(plan, ws, inputs, first, count, width, seed);
                    plan.take_gradients(ws, grad);
                }
            }
        }
        Ok(sum)
    }

    /// Anomaly mode: each association through the tape's checked sweep, in order.
    fn check_each(
        &self,
        params: &[f64],
        sources: &[(&[f64], usize)],
        count: usize,
        seed: f64,
    ) -> Result<()> {
        let tape = &*self.tape;
        let output = NodeId::new(tape.graph_id(), self.output);
        let mut ws = tape.workspace();
        ws.set_anomaly_mode(true);
        tape.set_params(&mut ws, params)?;
        let mut association = Vec::with_capacity(tape.input_count());
        for t in 0..count {
            association.clear();
            for &(data, width) in sources {
                association.extend_from_slice(&data[t * width..(t + 1) * width]);
            }
            tape.forward(&mut ws, &association)?;
            tape.backward_seeded(&mut ws, output, seed)?;
        }
        Ok(())
    }
}

/// Input values laid out for the blocks of one [`Batch`] ([`Batch::lay_out`]).
#[derive(Clone, Debug)]
pub(crate) struct LaidOut {
    values: Vec<f64>,
    count: usize,
    width: usize,
}

/// Shards per batch, at most.
const MAX_SHARDS: usize = 16;

/// How a batch's associations are split into shards: whole blocks of `width` (the last block
/// may be partial), at most [`MAX_SHARDS`] shards whose sizes differ by at most one block, the
/// larger first, so that the last shards a thread takes are the small ones. Depends only on the
/// number of associations and the block width, never on the number of threads.
#[derive(Clone, Copy, Debug)]
struct Shards {
    associations: usize,
    width: usize,
    /// Blocks in each of the smaller shards.
    blocks: usize,
    /// How many shards (the first ones) have one block more.
    larger: usize,
    count: usize,
}

impl Shards {
    fn new(associations: usize, width: usize) -> Shards {
        let total = associations.div_ceil(width);
        let count = total.clamp(1, MAX_SHARDS);
        Shards {
            associations,
            width,
            blocks: total / count,
            larger: total % count,
            count,
        }
    }

    fn count(&self) -> usize {
        self.count
    }

    /// Shard `s`'s first association and its number of associations.
    fn get(&self, s: usize) -> (usize, usize) {
        let first_block = s * self.blocks + s.min(self.larger);
        let blocks = self.blocks + usize::from(s < self.larger);
        let first = (first_block * self.width).min(self.associations);
        (first, (blocks * self.width).min(self.associations - first))
    }
}

/// Waits awake until `ready()`, for at most 200 µs (then the caller blocks as usual: a long wait
/// should not burn a core). Each turn yields the core, so that with more threads than cores the
/// ones still working get it.
fn wait_awake_until(ready: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !ready() && start.elapsed() < std::time::Duration::from_micros(200) {
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run that reads laid-out inputs gives the bits of one that transposes them, for counts
    /// with a tail of narrower blocks, two sources, block widths 64 and 8, 1 and 2 threads; a
    /// layout made for another count is not used.
    #[test]
    fn laid_out_inputs_give_the_bits_of_transposed_ones() {
        let g = crate::Graph::new();
        let x: Vec<_> = (0..3).map(|i| g.input(&format!("x{i}"))).collect();
        let t = g.input("t");
        let hidden: Vec<_> = (0..4)
            .map(|j| {
                let pairs: Vec<_> = (x.iter())
                    .enumerate()
                    .map(|(i, &x)| (x, g.param("w", ((i * 4 + j) as f64 * 0.7).sin())))
                    .collect();
                g.dot(&pairs).tanh()
            })
            .collect();
        let y = hidden.iter().fold(g.constant(0.1), |acc, &h| acc + h * 0.5);
        let loss = (y - t).powi(2);
        let tape = g.compile().unwrap();
        let params = tape.param_values().to_vec();
        let (n, m) = (200, 3);
        let inputs: Vec<f64> = (0..n * m).map(|k| (k as f64 * 0.37).cos()).collect();
        let targets: Vec<f64> = (0..n).map(|k| (k as f64 * 0.11).sin()).collect();
        for (lanes, threads) in [(64, 1), (64, 2), (8, 1), (8, 2)] {
            let mut batch = tape
                .batch(loss)
                .unwrap()
                .with_lanes(lanes)
                .unwrap()
                .with_threads(threads)
                .unwrap();
            for count in [200, 77, 5] {
                let sources = [(&inputs[..count * m], m), (&targets[..count], 1)];
                let run = |batch: &mut Batch, laid: Option<&LaidOut>| {
                    let mut grad = vec![0.0; params.len()];
                    let e = batch.run(&params, &sources, laid, count, 0.5, &mut grad);
                    let bits: Vec<u64> = grad.iter().map(|g| g.to_bits()).collect();
                    (e.unwrap().to_bits(), bits)
                };
                let want = run(&mut batch, None);
                let laid = batch.lay_out(&sources, count);
                assert_eq!(run(&mut batch, Some(&laid)), want, "{lanes} lanes, {count}");
                let other = batch.lay_out(&[(&inputs, m), (&targets, 1)], n);
                if count != n {
                    assert_eq!(run(&mut batch, Some(&other)), want, "{lanes}, {count}");
                }
            }
        }
    }

    /// Shards cover the associations in order without gaps, whole blocks each (the last may be
    /// partial), at most `MAX_SHARDS`, never smaller than a later shard and at most one block
    /// larger than any other.
    #[test]
    fn shards_cover_the_batch_in_whole_blocks_larger_first() {
        for width in [1, 4, 8, 64] {
            for associations in [1, 3, 8, 63, 64, 65, 100, 1024, 1797, 5000] {
                let shards = Shards::new(associations, width);
                assert!(shards.count() >= 1 && shards.count() <= MAX_SHARDS);
                let mut next = 0;
                let mut sizes = Vec::new();
                for s in 0..shards.count() {
                    let (first, count) = shards.get(s);
                    assert_eq!(first, next, "{associations} by {width}: shard {s}");
                    assert!(count > 0, "{associations} by {width}: shard {s} is empty");
                    assert!(first % width == 0);
                    next = first + count;
                    sizes.push(count.div_ceil(width));
                }
                assert_eq!(next, associations, "{associations} by {width}");
                assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
                assert!(sizes[0] - sizes[sizes.len() - 1] <= 1, "{sizes:?}");
            }
        }
    }
}
