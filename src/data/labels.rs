//! Class labels: a label column's cells read into class indices (integers, any text sorted, or a
//! known list), and the checks of a class list.

use std::collections::HashMap;

use super::MAX_CLASSES;
use crate::error::{Error, Result};

/// Reads a label column's cells into class indices, in one of three ways (see [`Targets`]).
pub(super) struct Labels<'o> {
    column: String,
    /// One per row: the class (integers and known lists), or the label's first-seen id.
    ids: Vec<usize>,
    mode: LabelMode<'o>,
}

enum LabelMode<'o> {
    /// The integers `0..k`.
    Integers(usize),
    /// Any labels, numbered as first seen, sorted at the end.
    Found {
        seen: HashMap<String, usize>,
        order: Vec<String>,
    },
    /// A known list.
    Known {
        index: HashMap<&'o str, usize>,
        labels: &'o [String],
    },
}

impl<'o> Labels<'o> {
    pub(super) fn new(
        column: &str,
        classes: Option<usize>,
        known: Option<&'o [String]>,
    ) -> Labels<'o> {
        let mode = match (classes, known) {
            (_, Some(labels)) => LabelMode::Known {
                index: labels
                    .iter()
                    .enumerate()
                    .map(|(k, l)| (l.as_str(), k))
                    .collect(),
                labels,
            },
            (Some(k), None) => LabelMode::Integers(k),
            (None, None) => LabelMode::Found {
                seen: HashMap::new(),
                order: Vec::new(),
            },
        };
        Labels {
            column: column.to_string(),
            ids: Vec::new(),
            mode,
        }
    }

    /// Whether the classes are known before reading (integers `0..k` or a list), so that one
    /// association's one-hot target can be made without the rest of the file.
    pub(super) fn known_before_reading(&self) -> bool {
        !matches!(self.mode, LabelMode::Found { .. })
    }

    /// The one-hot width, as far as it is known before reading (for the size check).
    pub(super) fn width_hint(&self) -> usize {
        match &self.mode {
            LabelMode::Integers(k) => *k,
            LabelMode::Found { .. } => 2,
            LabelMode::Known { labels, .. } => labels.len(),
        }
    }

    pub(super) fn push(&mut self, cell: &str, line: usize, column: usize) -> Result<()> {
        let id = self.id(cell, line, column)?;
        self.ids.push(id);
        Ok(())
    }

    /// The class of `cell` (for labels found in the data, its first-seen id), not kept: what a
    /// reader of one association at a time needs.
    pub(super) fn id(&mut self, cell: &str, line: usize, column: usize) -> Result<usize> {
        let at = |reason: String| Error::CsvCell {
            line,
            column,
            name: self.column.clone(),
            reason,
        };
        if cell.is_empty() && !matches!(self.mode, LabelMode::Integers(_)) {
            return Err(at("an empty cell is not a class label".into()));
        }
        let id = match &mut self.mode {
            LabelMode::Integers(k) => class(cell, Some(*k)).map_err(at)?,
            LabelMode::Known { index, labels } => {
                let found = index.get(cell).copied().or_else(|| {
                    integer(cell).and_then(|v| index.get(v.to_string().as_str()).copied())
                });
                found.ok_or_else(|| Error::UnknownClass {
                    line,
                    column,
                    name: self.column.clone(),
                    label: cell.to_string(),
                    known: labels.to_vec(),
                })?
            }
            LabelMode::Found { seen, order } => match seen.get(cell) {
                Some(&id) => id,
                None => {
                    if order.len() == MAX_CLASSES {
                        return Err(at(format!(
                            "{cell:?} would be class {}, over the limit of {MAX_CLASSES} classes",
                            MAX_CLASSES + 1
                        )));
                    }
                    seen.insert(cell.to_string(), order.len());
                    order.push(cell.to_string());
                    order.len() - 1
                }
            },
        };
        Ok(id)
    }

    /// The label column, the classes in order, and each row's class.
    pub(super) fn finish(self) -> Result<(String, Vec<String>, Vec<usize>)> {
        let Labels { column, ids, mode } = self;
        let order = match mode {
            LabelMode::Integers(k) => {
                return Ok((column, (0..k).map(|c| c.to_string()).collect(), ids));
            }
            LabelMode::Known { labels, .. } => return Ok((column, labels.to_vec(), ids)),
            LabelMode::Found { order, .. } => order,
        };
        // integers sort as numbers (and "3.0" is class "3"), anything else as text
        let (classes, of_seen): (Vec<String>, Vec<usize>) = match order
            .iter()
            .map(|l| integer(l))
            .collect::<Option<Vec<i64>>>()
        {
            Some(numbers) => {
                let mut sorted = numbers.clone();
                sorted.sort_unstable();
                sorted.dedup();
                let of_seen = numbers.iter().map(|v| position(&sorted, v)).collect();
                (sorted.iter().map(i64::to_string).collect(), of_seen)
            }
            None => {
                let mut sorted = order.clone();
                sorted.sort_unstable();
                let of_seen = order.iter().map(|l| position(&sorted, l)).collect();
                (sorted, of_seen)
            }
        };
        if classes.len() < 2 {
            return Err(Error::TooFewClasses {
                column,
                found: classes,
            });
        }
        let ids = ids.into_iter().map(|id| of_seen[id]).collect();
        Ok((column, classes, ids))
    }
}

fn position<T: Ord>(sorted: &[T], value: &T) -> usize {
    sorted
        .binary_search(value)
        .expect("internal error: a label is among the sorted ones")
}

/// An integer label: `-3`, `3` or `3.0` (any text `f64` reads as a whole number below 2^53 in
/// magnitude, where every integer is exact).
fn integer(cell: &str) -> Option<i64> {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    cell.parse::<i64>().ok().or_else(|| {
        cell.parse::<f64>()
            .ok()
            .filter(|v| v.fract() == 0.0 && v.abs() < EXACT)
            .map(|v| v as i64)
    })
}

/// A list of classes: at least 2, none empty, no two alike.
pub(crate) fn check_class_list(labels: &[String]) -> std::result::Result<(), String> {
    if labels.len() < 2 {
        return Err(format!(
            "{} classes ({}): at least 2 are needed",
            labels.len(),
            labels.join(", ")
        ));
    }
    if let Some(k) = labels.iter().position(String::is_empty) {
        return Err(format!("class {k} is empty text"));
    }
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(labels.len());
    for (k, label) in labels.iter().enumerate() {
        if let Some(first) = seen.insert(label, k) {
            return Err(format!("classes {first} and {k} are both {label:?}"));
        }
    }
    Ok(())
}

/// A class label: a non-negative integer (`3` or `3.0`), below `classes` if given, else below
/// [`MAX_CLASSES`].
fn class(cell: &str, classes: Option<usize>) -> std::result::Result<usize, String> {
    // 2^53: past it, f64 no longer holds every integer
    const EXACT: f64 = 9_007_199_254_740_992.0;
    let value = cell.parse::<u64>().ok().or_else(|| {
        cell.parse::<f64>()
            .ok()
            .filter(|v| v.fract() == 0.0 && (0.0..EXACT).contains(v))
            .map(|v| v as u64)
    });
    let Some(value) = value else {
        return Err(format!(
            "{cell:?} is not a class label (a non-negative integer)"
        ));
    };
    match classes {
        Some(k) if value >= k as u64 => Err(format!(
            "class {value} is out of range: there are {k} classes (0 to {})",
            k - 1
        )),
        None if value >= MAX_CLASSES as u64 => Err(format!(
            "class {value} is over the limit of {MAX_CLASSES} classes"
        )),
        _ => Ok(value as usize),
    }
}
