//! Hooks for this repository's own tests and benchmarks, not part of the API: they may change
//! or go without notice.

use std::path::Path;

use crate::error::Result;
use crate::nn::Mlp;
use crate::tape::Tape;

/// Bytes held by a tape itself (instructions, operand lists, leaf tables), for memory reports.
pub fn tape_heap_bytes(tape: &Tape) -> usize {
    tape.heap_bytes()
}

/// [`crate::model_file::save`], calling `before_rename` with the temporary file's path between
/// writing it and renaming it over the target: a test's way to inject a failure at the worst
/// moment.
///
/// # Errors
/// Those of `save`; an error of `before_rename` as [`crate::Error::Io`] (the temporary file is
/// removed and the target left as it was).
pub fn save_with_hook(
    net: &Mlp,
    path: impl AsRef<Path>,
    before_rename: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<()> {
    crate::model_file::save_with_hook(net, path.as_ref(), before_rename)
}

/// Sets one of a network's parameters to any value, finite or not, without handing it to the
/// graph and tape: a test's way to make a network that the file format must refuse to save.
pub fn set_param_unchecked(net: &mut Mlp, slot: usize, value: f64) {
    net.params_in_training()[slot] = value;
}
