//! The confusion matrix of a classifier: how many associations of each actual class were
//! predicted as each class.

use std::fmt;

use crate::error::{Error, Result};

/// Counts of (actual class, predicted class) pairs over a data set; the diagonal holds the
/// correct predictions.
///
/// # Examples
/// ```
/// use backprop::data::ConfusionMatrix;
/// let mut m = ConfusionMatrix::new(vec!["cat".into(), "dog".into()]);
/// m.add(0, 0)?;
/// m.add(1, 0)?; // a dog taken for a cat
/// m.add(1, 1)?;
/// assert_eq!((m.count(1, 0), m.correct(), m.total()), (1, 2, 3));
/// assert_eq!(m.accuracy(), Some(2.0 / 3.0));
/// # Ok::<(), backprop::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix {
    labels: Vec<String>,
    /// `counts[actual * k + predicted]`.
    counts: Vec<usize>,
}

impl ConfusionMatrix {
    /// An empty matrix over these classes (in the order of the network's outputs).
    pub fn new(labels: Vec<String>) -> ConfusionMatrix {
        let k = labels.len();
        ConfusionMatrix {
            labels,
            counts: vec![0; k * k],
        }
    }

    /// Counts one association of class `actual` predicted as `predicted`.
    ///
    /// # Errors
    /// [`Error::OutOfRange`] for a class index past the classes.
    pub fn add(&mut self, actual: usize, predicted: usize) -> Result<()> {
        let k = self.labels.len();
        for class in [actual, predicted] {
            if class >= k {
                return Err(Error::OutOfRange {
                    what: "class".into(),
                    index: class,
                    len: k,
                });
            }
        }
        self.counts[actual * k + predicted] += 1;
        Ok(())
    }

    /// The classes.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// How many associations of class `actual` were predicted as `predicted` (0 out of range).
    pub fn count(&self, actual: usize, predicted: usize) -> usize {
        let k = self.labels.len();
        if actual < k && predicted < k {
            self.counts[actual * k + predicted]
        } else {
            0
        }
    }

    /// The associations counted.
    pub fn total(&self) -> usize {
        self.counts.iter().sum()
    }

    /// The associations predicted right (the diagonal).
    pub fn correct(&self) -> usize {
        (0..self.labels.len()).map(|c| self.count(c, c)).sum()
    }

    /// `correct / total`, or `None` when nothing was counted.
    pub fn accuracy(&self) -> Option<f64> {
        match self.total() {
            0 => None,
            total => Some(self.correct() as f64 / total as f64),
        }
    }
}

/// A table, one row per actual class and one column per predicted class, right-aligned:
///
/// ```text
/// actual \ predicted  cat  dog
/// cat                   1    0
/// dog                   1    1
/// ```
impl fmt::Display for ConfusionMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const CORNER: &str = "actual \\ predicted";
        let first = self
            .labels
            .iter()
            .map(|l| l.chars().count())
            .chain([CORNER.len()])
            .max()
            .unwrap_or(0);
        let widths: Vec<usize> = self
            .labels
            .iter()
            .enumerate()
            .map(|(c, l)| {
                let widest = (0..self.labels.len())
                    .map(|a| self.count(a, c).to_string().len())
                    .max()
                    .unwrap_or(1);
                l.chars().count().max(widest)
            })
            .collect();
        write!(f, "{CORNER:<first$}")?;
        for (label, width) in self.labels.iter().zip(&widths) {
            write!(f, "  {label:>width$}")?;
        }
        writeln!(f)?;
        for (a, label) in self.labels.iter().enumerate() {
            write!(f, "{label:<first$}")?;
            for (c, width) in widths.iter().enumerate() {
                write!(f, "  {:>width$}", self.count(a, c))?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
