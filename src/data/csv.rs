//! The numeric CSV reader behind [`Dataset::from_csv_str`]: header, column roles, cells,
//! one-hot labels, scaling.

use std::borrow::Cow;
use std::collections::HashMap;

use super::{CsvOptions, Dataset, MAX_CLASSES, Scaler, Scaling, Targets};
use crate::error::{Error, Result};

/// What a column of the file becomes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    /// Input number `k` (in the file's order, or in the order of [`CsvOptions::inputs`]).
    Input(usize),
    /// Target number `k` (in the order of [`Targets::Columns`]).
    Target(usize),
    Label,
    /// Not read: a column [`CsvOptions::inputs`] does not name.
    Ignored,
}

/// The text's non-blank lines, numbered from 1, after a byte order mark.
fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> + Clone {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines()
        .enumerate()
        .map(|(k, line)| (k + 1, line))
        .filter(|(_, line)| !line.trim().is_empty())
}

pub(super) fn header(text: &str) -> Result<Vec<String>> {
    let (line, header) = numbered_lines(text).next().ok_or(Error::CsvEmpty)?;
    Ok(split_cells(line, header)?
        .into_iter()
        .map(Cow::into_owned)
        .collect())
}

pub(super) fn read(text: &str, options: &CsvOptions) -> Result<Dataset> {
    if text.len() as u64 > options.max_bytes {
        return Err(Error::TooLarge {
            what: "the csv data".into(),
            size: text.len() as u64,
            unit: "bytes",
            limit: options.max_bytes,
        });
    }
    validate_scaling(options.scaling)?;
    let mut lines = numbered_lines(text);
    let (header_line, header) = lines.next().ok_or(Error::CsvEmpty)?;
    let names: Vec<String> = split_cells(header_line, header)?
        .into_iter()
        .map(Cow::into_owned)
        .collect();
    check_unique(&names)?;
    let roles = roles(&names, options)?;
    let n_inputs = roles.iter().filter(|r| matches!(r, Role::Input(_))).count();
    let n_target_columns = roles
        .iter()
        .filter(|r| matches!(r, Role::Target(_)))
        .count();

    let rows = lines.clone().count();
    if rows == 0 {
        return Err(Error::CsvNoRows { header_line });
    }
    if rows > options.max_rows {
        return Err(Error::TooLarge {
            what: "the csv data".into(),
            size: rows as u64,
            unit: "rows",
            limit: options.max_rows as u64,
        });
    }
    let mut labels = match &options.targets {
        Targets::Columns(_) => None,
        Targets::Label { column, classes } => Some(Labels::new(column, *classes, None)),
        Targets::Classes { column, labels } => Some(Labels::new(column, None, Some(labels))),
    };
    check_values(
        rows,
        n_inputs + labels.as_ref().map_or(n_target_columns, Labels::width_hint),
        options,
    )?;

    let mut inputs = Vec::with_capacity(rows * n_inputs);
    let mut targets = Vec::with_capacity(rows * n_target_columns);
    let mut row_inputs = vec![0.0; n_inputs];
    let mut row_targets = vec![0.0; n_target_columns];
    for (line, text) in lines {
        let cells = split_cells(line, text)?;
        if cells.len() != names.len() {
            return Err(Error::CsvRagged {
                line,
                expected: names.len(),
                got: cells.len(),
            });
        }
        for (column, (cell, role)) in cells.iter().zip(&roles).enumerate() {
            let at = |reason: String| Error::CsvCell {
                line,
                column: column + 1,
                name: names[column].clone(),
                reason,
            };
            match *role {
                Role::Input(k) => row_inputs[k] = number(cell).map_err(at)?,
                Role::Target(k) => row_targets[k] = number(cell).map_err(at)?,
                Role::Label => {
                    let labels = labels
                        .as_mut()
                        .expect("internal error: a label column has a label reader");
                    labels.push(cell, line, column + 1)?;
                }
                Role::Ignored => {}
            }
        }
        inputs.extend_from_slice(&row_inputs);
        targets.extend_from_slice(&row_targets);
    }
    if options.scaling != Scaling::None {
        Scaler::fit_inputs(options.scaling, &inputs, n_inputs)?.apply_all(&mut inputs)?;
    }

    let mut input_names = vec![String::new(); n_inputs];
    let mut target_names = vec![String::new(); n_target_columns];
    for (name, role) in names.iter().zip(&roles) {
        match *role {
            Role::Input(k) => input_names[k] = name.clone(),
            Role::Target(k) => target_names[k] = name.clone(),
            Role::Label | Role::Ignored => {}
        }
    }
    let Some(labels) = labels else {
        return Ok(Dataset::from_parts(
            inputs,
            targets,
            input_names,
            target_names,
            None,
        ));
    };
    let (column, classes, ids) = labels.finish()?;
    check_values(rows, n_inputs + classes.len(), options)?;
    let mut targets = vec![0.0; rows * classes.len()];
    for (t, &c) in ids.iter().enumerate() {
        targets[t * classes.len() + c] = 1.0;
    }
    let target_names = classes.iter().map(|c| format!("{column}={c}")).collect();
    Ok(Dataset::from_parts(
        inputs,
        targets,
        input_names,
        target_names,
        Some((column, classes)),
    ))
}

/// Reads a label column's cells into class indices, in one of three ways (see [`Targets`]).
struct Labels<'o> {
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
    fn new(column: &str, classes: Option<usize>, known: Option<&'o [String]>) -> Labels<'o> {
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

    /// The one-hot width, as far as it is known before reading (for the size check).
    fn width_hint(&self) -> usize {
        match &self.mode {
            LabelMode::Integers(k) => *k,
            LabelMode::Found { .. } => 2,
            LabelMode::Known { labels, .. } => labels.len(),
        }
    }

    fn push(&mut self, cell: &str, line: usize, column: usize) -> Result<()> {
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
        self.ids.push(id);
        Ok(())
    }

    /// The label column, the classes in order, and each row's class.
    fn finish(self) -> Result<(String, Vec<String>, Vec<usize>)> {
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

fn validate_scaling(scaling: Scaling) -> Result<()> {
    match scaling {
        Scaling::Divide(d) if !d.is_finite() || d == 0.0 => Err(Error::InvalidOption {
            name: "scaling".into(),
            reason: format!("the divisor must be a finite, non-zero number, got {d}"),
        }),
        Scaling::None | Scaling::MinMax | Scaling::Standardize | Scaling::Divide(_) => Ok(()),
    }
}

fn check_values(rows: usize, width: usize, options: &CsvOptions) -> Result<()> {
    let values = (rows as u64).saturating_mul(width as u64);
    if values > options.max_values as u64 {
        return Err(Error::TooLarge {
            what: format!("the data set ({rows} rows of {width} inputs and targets)"),
            size: values,
            unit: "numbers",
            limit: options.max_values as u64,
        });
    }
    Ok(())
}

fn check_unique(names: &[String]) -> Result<()> {
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(names.len());
    for (column, name) in names.iter().enumerate() {
        if let Some(&first) = seen.get(name.as_str()) {
            return Err(Error::CsvDuplicateColumn {
                name: name.clone(),
                first: first + 1,
                second: column + 1,
            });
        }
        seen.insert(name, column);
    }
    Ok(())
}

fn roles(names: &[String], options: &CsvOptions) -> Result<Vec<Role>> {
    let bad = |name: &str, reason: String| Error::InvalidOption {
        name: name.into(),
        reason,
    };
    let find = |column: &str| {
        names
            .iter()
            .position(|n| n == column)
            .ok_or_else(|| Error::CsvMissingColumn {
                column: column.to_string(),
                available: names.to_vec(),
            })
    };
    let mut roles = vec![Role::Ignored; names.len()];
    match &options.targets {
        Targets::Columns(columns) => {
            // no target column: every column is an input (data to predict on)
            for (k, column) in columns.iter().enumerate() {
                let c = find(column)?;
                if roles[c] != Role::Ignored {
                    return Err(bad("targets", format!("column {column:?} is listed twice")));
                }
                roles[c] = Role::Target(k);
            }
        }
        Targets::Label { column, classes } => {
            match classes {
                Some(k) if *k < 2 => {
                    return Err(bad(
                        "targets",
                        format!("a label needs at least 2 classes, got {k}"),
                    ));
                }
                Some(k) if *k > MAX_CLASSES => {
                    return Err(bad(
                        "targets",
                        format!("{k} classes is over the limit of {MAX_CLASSES}"),
                    ));
                }
                _ => {}
            }
            roles[find(column)?] = Role::Label;
        }
        Targets::Classes { column, labels } => {
            check_class_list(labels).map_err(|reason| bad("classes", reason))?;
            roles[find(column)?] = Role::Label;
        }
    }
    match &options.inputs {
        None => {
            for (k, role) in roles
                .iter_mut()
                .filter(|r| **r == Role::Ignored)
                .enumerate()
            {
                *role = Role::Input(k);
            }
        }
        Some(inputs) => {
            for (k, column) in inputs.iter().enumerate() {
                let c = find(column)?;
                if roles[c] != Role::Ignored {
                    return Err(bad(
                        "inputs",
                        format!("column {column:?} is listed twice, or is also a target"),
                    ));
                }
                roles[c] = Role::Input(k);
            }
        }
    }
    if !roles.iter().any(|r| matches!(r, Role::Input(_))) {
        return Err(bad(
            "targets",
            "every column is a target: no input column is left".into(),
        ));
    }
    Ok(roles)
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

fn number(cell: &str) -> std::result::Result<f64, String> {
    match cell.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!("{cell:?} is not a finite number")),
        Err(_) => Err(format!("{cell:?} is not a number")),
    }
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

/// Splits one line into cells: trimmed, quotes removed, `""` inside quotes unescaped.
fn split_cells(line: usize, text: &str) -> Result<Vec<Cow<'_, str>>> {
    let syntax = |reason: &str| Error::InvalidFile {
        format: "csv".into(),
        reason: format!("line {line}: {reason}"),
    };
    let mut cells = Vec::new();
    let mut rest = text;
    loop {
        let trimmed = rest.trim_start();
        let after = if let Some(quoted) = trimmed.strip_prefix('"') {
            let mut cell = String::new();
            let mut chars = quoted.char_indices().peekable();
            let after = loop {
                match chars.next() {
                    None => {
                        return Err(syntax(
                            "a quoted cell is not closed (a cell cannot span lines)",
                        ));
                    }
                    Some((_, '"')) if chars.peek().map(|&(_, c)| c) == Some('"') => {
                        cell.push('"');
                        chars.next();
                    }
                    Some((k, '"')) => break &quoted[k + 1..],
                    Some((_, c)) => cell.push(c),
                }
            };
            cells.push(Cow::Owned(cell));
            let after = after.trim_start();
            if !(after.is_empty() || after.starts_with(',')) {
                return Err(syntax("text follows the closing quote of a cell"));
            }
            after
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            cells.push(Cow::Borrowed(rest[..end].trim()));
            &rest[end..]
        };
        match after.strip_prefix(',') {
            Some(next) => rest = next,
            None => return Ok(cells),
        }
    }
}
