//! The numeric CSV reader behind [`Dataset::from_csv_str`]: header, column roles, cells,
//! one-hot labels (read by `labels.rs`), scaling.

use std::borrow::Cow;
use std::collections::HashMap;

use super::labels::{Labels, check_class_list};
use super::{CsvOptions, Dataset, MAX_CLASSES, Scaler, Scaling, Targets};
use crate::error::{Error, Result};

/// What a column of the file becomes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Role {
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

pub(super) fn validate_scaling(scaling: Scaling) -> Result<()> {
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

pub(super) fn check_unique(names: &[String]) -> Result<()> {
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

pub(super) fn roles(names: &[String], options: &CsvOptions) -> Result<Vec<Role>> {
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

pub(super) fn number(cell: &str) -> std::result::Result<f64, String> {
    match cell.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!("{cell:?} is not a finite number")),
        Err(_) => Err(format!("{cell:?} is not a number")),
    }
}

/// Splits one line into cells: trimmed, quotes removed, `""` inside quotes unescaped.
pub(super) fn split_cells(line: usize, text: &str) -> Result<Vec<Cow<'_, str>>> {
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
