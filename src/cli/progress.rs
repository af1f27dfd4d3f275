//! Training progress: a live bar with the error on a terminal, plain periodic lines otherwise.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// Reports epochs as they finish, on standard error.
pub enum Progress {
    /// A terminal: a bar with the live error.
    Bar(ProgressBar),
    /// Not a terminal: one line every `every` epochs.
    Lines {
        /// Epochs between lines.
        every: usize,
        /// The planned number of epochs.
        total: usize,
    },
}

impl Progress {
    /// A reporter for `total` epochs.
    pub fn new(total: usize) -> Progress {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} epoch {pos}/{len}  error {msg}  ({elapsed})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            Progress::Bar(bar)
        } else {
            Progress::Lines {
                every: (total / 10).max(1),
                total,
            }
        }
    }

    /// Epoch `epoch` (from 1) finished with this error.
    pub fn epoch(&self, epoch: usize, error: f64) {
        match self {
            Progress::Bar(bar) => {
                bar.set_position(epoch as u64);
                if epoch % 16 == 1 {
                    bar.set_message(format!("{error:.3e}"));
                }
            }
            Progress::Lines { every, total } => {
                if epoch.is_multiple_of(*every) || epoch == 1 {
                    eprintln!("epoch {epoch}/{total}: error {error:.6e}");
                }
            }
        }
    }

    /// Training ended.
    pub fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
