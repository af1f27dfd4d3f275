//! The numeric CSV reader behind [`Dataset::from_csv_str`]: header, column roles, cells,
//! one-hot labels, scaling.

use std::borrow::Cow;
use std::collections::HashMap;

use super::{CsvOptions, Dataset, MAX_CLASSES, Scaling, Targets};
use crate::error::{Error, Result};

/// What a column of the file becomes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    Input,
    /// Target number `k` (in the order of [`Targets::Columns`]).
    Target(usize),
    Label,
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
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(k, line)| (k + 1, line))
        .filter(|(_, line)| !line.trim().is_empty());
    let (header_line, header) = lines.next().ok_or(Error::CsvEmpty)?;
    let names: Vec<String> = split_cells(header_line, header)?
        .into_iter()
        .map(Cow::into_owned)
        .collect();
    check_unique(&names)?;
    let roles = roles(&names, &options.targets)?;
    let n_inputs = roles.iter().filter(|&&r| r == Role::Input).count();
    let n_target_columns = roles.len() - n_inputs;

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
    let label_mode = matches!(options.targets, Targets::Label { .. });
    let declared_classes = match options.targets {
        Targets::Label { classes, .. } => classes,
        Targets::Columns(_) => None,
    };
    check_values(
        rows,
        n_inputs + declared_classes.unwrap_or(n_target_columns),
        options,
    )?;

    let mut inputs = Vec::with_capacity(rows * n_inputs);
    let mut targets = Vec::with_capacity(rows * n_target_columns);
    let mut labels = Vec::new();
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
                Role::Input => inputs.push(number(cell).map_err(at)?),
                Role::Target(k) => row_targets[k] = number(cell).map_err(at)?,
                Role::Label => labels.push(class(cell, declared_classes).map_err(at)?),
            }
        }
        if !label_mode {
            targets.extend_from_slice(&row_targets);
        }
    }
    scale(&mut inputs, n_inputs, options.scaling);

    let input_names = pick(&names, &roles, |r| r == Role::Input);
    match &options.targets {
        Targets::Columns(columns) => Ok(Dataset::from_parts(
            inputs,
            targets,
            input_names,
            columns.clone(),
            None,
        )),
        Targets::Label { column, .. } => {
            let classes =
                declared_classes.unwrap_or_else(|| labels.iter().max().map_or(1, |&c| c + 1));
            check_values(rows, n_inputs + classes, options)?;
            let mut targets = vec![0.0; rows * classes];
            for (t, &c) in labels.iter().enumerate() {
                targets[t * classes + c] = 1.0;
            }
            let target_names = (0..classes).map(|c| format!("{column}={c}")).collect();
            Ok(Dataset::from_parts(
                inputs,
                targets,
                input_names,
                target_names,
                Some(classes),
            ))
        }
    }
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

fn roles(names: &[String], targets: &Targets) -> Result<Vec<Role>> {
    let bad = |reason: String| Error::InvalidOption {
        name: "targets".into(),
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
    let mut roles = vec![Role::Input; names.len()];
    match targets {
        Targets::Columns(columns) => {
            // no target column: every column is an input (data to predict on)
            for (k, column) in columns.iter().enumerate() {
                let c = find(column)?;
                if roles[c] != Role::Input {
                    return Err(bad(format!("column {column:?} is listed twice")));
                }
                roles[c] = Role::Target(k);
            }
        }
        Targets::Label { column, classes } => {
            match classes {
                Some(0) => return Err(bad("a label needs at least 1 class, got 0".into())),
                Some(k) if *k > MAX_CLASSES => {
                    return Err(bad(format!(
                        "{k} classes is over the limit of {MAX_CLASSES}"
                    )));
                }
                _ => {}
            }
            roles[find(column)?] = Role::Label;
        }
    }
    if !roles.contains(&Role::Input) {
        return Err(bad(
            "every column is a target: no input column is left".into()
        ));
    }
    Ok(roles)
}

fn pick(names: &[String], roles: &[Role], keep: impl Fn(Role) -> bool) -> Vec<String> {
    names
        .iter()
        .zip(roles)
        .filter(|&(_, &r)| keep(r))
        .map(|(n, _)| n.clone())
        .collect()
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

/// Rescales each input column in place.
fn scale(inputs: &mut [f64], width: usize, scaling: Scaling) {
    let rows = inputs.len() / width;
    let column = |inputs: &[f64], i: usize| -> Vec<f64> {
        (0..rows).map(|t| inputs[t * width + i]).collect()
    };
    for i in 0..width {
        let (offset, factor) = match scaling {
            Scaling::None => return,
            Scaling::Divide(d) => (0.0, 1.0 / d),
            Scaling::MinMax => {
                let values = column(inputs, i);
                let min = values.iter().copied().fold(f64::INFINITY, f64::min);
                let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                (min, if max > min { 1.0 / (max - min) } else { 0.0 })
            }
            Scaling::Standardize => {
                let values = column(inputs, i);
                let mean = values.iter().sum::<f64>() / rows as f64;
                let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / rows as f64;
                (mean, if var > 0.0 { 1.0 / var.sqrt() } else { 0.0 })
            }
        };
        for t in 0..rows {
            let v = &mut inputs[t * width + i];
            *v = (*v - offset) * factor;
        }
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
