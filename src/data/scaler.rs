//! The fitted scaler: per input column, `x' = (x - center) / scale`, its numbers fitted once
//! (on a training split) and then applied unchanged to any other data.

use super::{Dataset, Scaling};
use crate::error::{Error, Result};

/// What a [`Scaler`] was fitted as; the numbers it applies are in [`Scaler::center`] and
/// [`Scaler::scale`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalerKind {
    /// No scaling: every center 0, every scale 1.
    None,
    /// `center` = the column's minimum, `scale` = its maximum minus its minimum (1 for a
    /// constant column), so that the fitted data lies in `[0, 1]`.
    MinMax,
    /// `center` = the column's mean, `scale` = its population standard deviation (1 for a
    /// constant column), so that the fitted data has mean 0 and variance 1.
    Standard,
    /// `center` 0 and the same `scale` (the divisor) for every column.
    Divide,
}

impl ScalerKind {
    /// The name used on the command line and in model files: `none`, `minmax`, `standard`,
    /// `divide`.
    pub fn name(self) -> &'static str {
        match self {
            ScalerKind::None => "none",
            ScalerKind::MinMax => "minmax",
            ScalerKind::Standard => "standard",
            ScalerKind::Divide => "divide",
        }
    }

    /// Parses a name given by [`ScalerKind::name`].
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for any other name.
    pub fn parse(name: &str) -> Result<ScalerKind> {
        match name {
            "none" => Ok(ScalerKind::None),
            "minmax" => Ok(ScalerKind::MinMax),
            "standard" => Ok(ScalerKind::Standard),
            "divide" => Ok(ScalerKind::Divide),
            other => Err(Error::InvalidOption {
                name: "scaler kind".into(),
                reason: format!("{other:?} is not one of none, minmax, standard, divide"),
            }),
        }
    }
}

/// A scaling of input columns with its numbers fixed: column `i` of every row becomes
/// `x'_i = (x_i - center_i) / scale_i`. Fitted on training data ([`Scaler::fit`]), stored in
/// a model file, and applied as it is to the data a model predicts on, so that the network
/// always sees its inputs on the scale it was trained on.
///
/// Every center is finite and every scale finite and non-zero (checked when it is made).
///
/// # Examples
/// ```
/// use backprop::data::{Dataset, Scaler, Scaling};
/// let train = Dataset::new(vec![0.0, 10.0, 2.0, 30.0], vec![0.0, 1.0], 2, 1)?;
/// let scaler = Scaler::fit(Scaling::MinMax, &train)?;
/// assert_eq!((scaler.center(), scaler.scale()), (&[0.0, 10.0][..], &[2.0, 20.0][..]));
/// let mut row = [1.0, 50.0]; // new data: not refitted, may fall outside [0, 1]
/// scaler.apply(&mut row)?;
/// assert_eq!(row, [0.5, 2.0]);
/// # Ok::<(), backprop::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Scaler {
    kind: ScalerKind,
    center: Vec<f64>,
    scale: Vec<f64>,
}

impl Scaler {
    /// The scaler that changes nothing, for `width` columns.
    pub fn identity(width: usize) -> Scaler {
        Scaler {
            kind: ScalerKind::None,
            center: vec![0.0; width],
            scale: vec![1.0; width],
        }
    }

    /// Fits `scaling` to the inputs of `data` (see [`ScalerKind`] for the numbers).
    ///
    /// # Errors
    /// [`Error::NoAssociations`] for empty data (`Scaling::None` and `Divide` need none, but
    /// are refused alike); [`Error::InvalidOption`] for a divisor that is 0 or not finite;
    /// [`Error::NonFiniteConstant`] naming the column whose fitted number overflowed (a range
    /// or a variance beyond `f64`).
    ///
    /// # Complexity
    /// O(T x width).
    pub fn fit(scaling: Scaling, data: &Dataset) -> Result<Scaler> {
        Scaler::fit_inputs(scaling, data.inputs(), data.n_inputs())
    }

    /// [`Scaler::fit`] on flat inputs: `inputs` is `T x width`, association-major.
    ///
    /// # Errors
    /// As [`Scaler::fit`]; [`Error::Shape`] for inputs that are not a whole number of rows.
    pub fn fit_inputs(scaling: Scaling, inputs: &[f64], width: usize) -> Result<Scaler> {
        if width == 0 || inputs.is_empty() {
            return Err(Error::NoAssociations);
        }
        crate::error::expect_len(
            format!("input values (a whole number of rows of {width})"),
            inputs.len().div_ceil(width) * width,
            inputs.len(),
        )?;
        let rows = inputs.len() / width;
        let column = |i: usize| (0..rows).map(move |t| inputs[t * width + i]);
        let (kind, pairs): (ScalerKind, Vec<(f64, f64)>) = match scaling {
            Scaling::None => return Ok(Scaler::identity(width)),
            Scaling::Divide(d) => {
                if !d.is_finite() || d == 0.0 {
                    return Err(Error::InvalidOption {
                        name: "scaling".into(),
                        reason: format!("the divisor must be a finite, non-zero number, got {d}"),
                    });
                }
                (ScalerKind::Divide, vec![(0.0, d); width])
            }
            Scaling::MinMax => {
                let fit = |i: usize| {
                    let min = column(i).fold(f64::INFINITY, f64::min);
                    let max = column(i).fold(f64::NEG_INFINITY, f64::max);
                    // a constant column: scale 1 maps it onto 0, as (x - min) / (max - min) would
                    (min, if max > min { max - min } else { 1.0 })
                };
                (ScalerKind::MinMax, (0..width).map(fit).collect())
            }
            Scaling::Standardize => {
                let fit = |i: usize| {
                    let mean = column(i).sum::<f64>() / rows as f64;
                    let var = column(i).map(|v| (v - mean) * (v - mean)).sum::<f64>() / rows as f64;
                    (mean, if var > 0.0 { var.sqrt() } else { 1.0 })
                };
                (ScalerKind::Standard, (0..width).map(fit).collect())
            }
        };
        let (center, scale): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
        for (i, (&c, &s)) in center.iter().zip(&scale).enumerate() {
            for (what, value) in [("center", c), ("scale", s)] {
                if !value.is_finite() {
                    return Err(Error::NonFiniteConstant {
                        what: format!("the fitted {} {what} of input column {i}", kind.name()),
                        value,
                    });
                }
            }
        }
        Ok(Scaler {
            kind,
            center,
            scale,
        })
    }

    /// A scaler from its numbers, as a model file stores them.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the first problem: `center` and `scale` of different
    /// lengths or empty; a center that is not finite; a scale that is 0 or not finite; for
    /// `None`, a center other than 0 or a scale other than 1; for `Divide`, a center other
    /// than 0 or scales that differ.
    pub fn from_parts(kind: ScalerKind, center: Vec<f64>, scale: Vec<f64>) -> Result<Scaler> {
        let bad = |reason: String| Error::InvalidOption {
            name: "scaler".into(),
            reason,
        };
        if center.len() != scale.len() {
            return Err(bad(format!(
                "{} centers but {} scales: one of each per input column",
                center.len(),
                scale.len()
            )));
        }
        if center.is_empty() {
            return Err(bad("no columns: at least 1 is needed".into()));
        }
        for (i, (&c, &s)) in center.iter().zip(&scale).enumerate() {
            if !c.is_finite() {
                return Err(bad(format!("center[{i}] is {c}: it must be finite")));
            }
            if !s.is_finite() || s == 0.0 {
                return Err(bad(format!(
                    "scale[{i}] is {s}: it must be finite and non-zero"
                )));
            }
            let fits = match kind {
                ScalerKind::None => c == 0.0 && s == 1.0,
                ScalerKind::Divide => c == 0.0 && s == scale[0],
                ScalerKind::MinMax | ScalerKind::Standard => true,
            };
            if !fits {
                return Err(bad(format!(
                    "column {i}: center {c} and scale {s} do not fit kind {} (none: 0 and 1; divide: 0 and the same divisor for every column)",
                    kind.name()
                )));
            }
        }
        Ok(Scaler {
            kind,
            center,
            scale,
        })
    }

    /// What the scaler was fitted as.
    pub fn kind(&self) -> ScalerKind {
        self.kind
    }

    /// The number of columns it scales.
    pub fn width(&self) -> usize {
        self.center.len()
    }

    /// The numbers subtracted, one per column.
    pub fn center(&self) -> &[f64] {
        &self.center
    }

    /// The numbers divided by (after subtracting the center), one per column.
    pub fn scale(&self) -> &[f64] {
        &self.scale
    }

    /// Scales one row in place: `row[i] = (row[i] - center[i]) / scale[i]`.
    ///
    /// # Errors
    /// [`Error::Shape`] for a row whose width is not [`Scaler::width`].
    pub fn apply(&self, row: &mut [f64]) -> Result<()> {
        crate::error::expect_len(
            "values of a row to scale (one per input column)".into(),
            self.width(),
            row.len(),
        )?;
        for ((v, &c), &s) in row.iter_mut().zip(&self.center).zip(&self.scale) {
            *v = (*v - c) / s;
        }
        Ok(())
    }

    /// Scales every row of flat inputs (`T x width`, association-major) in place.
    ///
    /// # Errors
    /// [`Error::Shape`] for inputs that are not a whole number of rows of [`Scaler::width`].
    pub fn apply_all(&self, inputs: &mut [f64]) -> Result<()> {
        let width = self.width();
        crate::error::expect_len(
            format!("input values to scale (a whole number of rows of {width})"),
            inputs.len().div_ceil(width) * width,
            inputs.len(),
        )?;
        for row in inputs.chunks_exact_mut(width) {
            self.apply(row)?;
        }
        Ok(())
    }
}
