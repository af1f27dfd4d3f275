//! The buffers of one thread running a plan's blocks: each row's values and adjoints (as wide
//! as the widest block), the uniforms' values and the partial sums of their adjoints, the
//! groups' packed weights, and the instruction set the blocks run on.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::partials::PARTIALS;

/// Widths `L` of a block that have a compiled kernel.
pub(super) const BLOCK_WIDTHS: [usize; 7] = [64, 32, 16, 8, 4, 2, 1];

/// The widest block width not above `lanes` (at least 1).
pub(crate) fn block_width(lanes: usize) -> usize {
    BLOCK_WIDTHS
        .into_iter()
        .find(|&w| w <= lanes.max(1))
        .unwrap_or(1)
}

/// The buffers of one thread running a plan.
#[derive(Clone, Debug)]
pub(crate) struct PlanWorkspace {
    pub(super) values: Lines,
    pub(super) adjoints: Lines,
    pub(super) uniform_values: Vec<f64>,
    pub(super) uniform_adjoints: Lines,
    /// The groups' weights, copied from `uniform_values` when the parameters are set, so that
    /// a tile reads its neurons' weights side by side.
    pub(super) packed: Vec<f64>,
    /// The vector instructions the blocks run on: the best the CPU has (`pulp` detects it when
    /// the workspace is made); tests choose each level in turn, so that every width runs on
    /// any machine that has it.
    pub(super) arch: pulp::Arch,
}

impl PlanWorkspace {
    /// Zeroed buffers for `rows` rows of blocks of up to `lanes` associations, `uniforms`
    /// uniforms and `packed` packed weights.
    pub(super) fn zeroed(rows: usize, lanes: usize, uniforms: usize, packed: usize) -> Self {
        let width = block_width(lanes);
        PlanWorkspace {
            values: Lines::zeroed(rows * width),
            adjoints: Lines::zeroed(rows * width),
            uniform_values: vec![0.0; uniforms],
            uniform_adjoints: Lines::zeroed(uniforms * PARTIALS),
            packed: vec![0.0; packed],
            arch: pulp::Arch::new(),
        }
    }
}

/// A zeroed buffer of `f64` that starts on a 64-byte cache line, so that every vector of 8
/// lanes the kernels read at a multiple of 8 lies in one line (a `Vec<f64>` is only 8- or
/// 16-byte aligned, and a row that starts mid-line is read from two lines per vector). Buffers
/// start at staggered offsets within a page (9 lines apart, cycling over 7), so that the
/// buffers of one workspace, and those of two threads' workspaces, do not all begin in the same
/// cache sets: aligned but not staggered, two threads ran W3 at 770-930 us per epoch in most
/// runs instead of 540-580 (`benches/README.md`, 1 Dec).
///
/// Where a buffer starts changes no result: only the addresses of the same numbers move.
#[derive(Debug)]
pub(super) struct Lines {
    buf: Vec<f64>,
    start: usize,
    len: usize,
}

impl Lines {
    /// `f64`s in a 64-byte line.
    const PER_LINE: usize = 8;
    /// Lines between the starts of successive buffers, and how many starts before they repeat.
    const STAGGER: (usize, usize) = (9, 7);

    pub(super) fn zeroed(len: usize) -> Lines {
        static BUFFERS: AtomicUsize = AtomicUsize::new(0);
        let (step, cycle) = Lines::STAGGER;
        let stagger = BUFFERS.fetch_add(1, Ordering::Relaxed) % cycle * step * Lines::PER_LINE;
        let spare = Lines::PER_LINE - 1 + (cycle - 1) * step * Lines::PER_LINE;
        let buf = vec![0.0; len + spare];
        let misalignment = buf.as_ptr() as usize % 64 / std::mem::size_of::<f64>();
        let start = (Lines::PER_LINE - misalignment) % Lines::PER_LINE + stagger;
        Lines { buf, start, len }
    }
}

impl Clone for Lines {
    fn clone(&self) -> Lines {
        let mut copy = Lines::zeroed(self.len);
        copy.copy_from_slice(self);
        copy
    }
}

impl std::ops::Deref for Lines {
    type Target = [f64];
    fn deref(&self) -> &[f64] {
        &self.buf[self.start..self.start + self.len]
    }
}

impl std::ops::DerefMut for Lines {
    fn deref_mut(&mut self) -> &mut [f64] {
        &mut self.buf[self.start..self.start + self.len]
    }
}
