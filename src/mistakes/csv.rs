//! The answers format as CSV, for people who work in spreadsheets: a header naming the columns
//! `quantity,layer,from,to,value` (and optionally `association`), one number per row (see
//! [`super::answers`]). Errors name the line and the column.

use std::collections::HashMap;

use super::Problem;
use super::answers::{Answers, FIELDS, Shapes};
use super::precision::Typed;
use crate::error::{Error, Result};

const COLUMNS: [&str; 5] = ["quantity", "layer", "from", "to", "value"];

fn cells(line: &str) -> Vec<String> {
    line.split(',')
        .map(|c| {
            let c = c.trim();
            c.strip_prefix('"')
                .and_then(|c| c.strip_suffix('"'))
                .unwrap_or(c)
                .trim()
                .to_string()
        })
        .collect()
}

impl Answers {
    /// Reads the CSV answers format for `problem`.
    ///
    /// # Errors
    /// [`Error::CsvEmpty`] without a header; [`Error::CsvMissingColumn`] for a header without one
    /// of the five columns; [`Error::CsvRagged`] for a row of the wrong number of cells;
    /// [`Error::CsvCell`] naming the line and column of an unknown quantity, an index that is
    /// not a number or out of the network's range, a value that is not a finite number (text,
    /// `NaN`), a number given twice; [`Error::CsvNoRows`] for a header alone.
    pub fn from_csv_str(text: &str, problem: &Problem) -> Result<Answers> {
        let shapes = Shapes::of(problem);
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(n, l)| (n + 1, l.trim_start_matches('\u{feff}')))
            .filter(|(_, l)| !l.trim().is_empty());
        let (header_line, header) = lines.next().ok_or(Error::CsvEmpty)?;
        let header = cells(header);
        let position = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
        let mut at = HashMap::new();
        for name in COLUMNS {
            let p = position(name).ok_or_else(|| Error::CsvMissingColumn {
                column: name.into(),
                available: header.clone(),
            })?;
            at.insert(name, p);
        }
        let association_column = position("association");
        let mut answers = Answers::new();
        let mut first_seen = HashMap::new();
        let mut rows = 0;
        for (line, text) in lines {
            rows += 1;
            let row = cells(text);
            if row.len() != header.len() {
                return Err(Error::CsvRagged {
                    line,
                    expected: header.len(),
                    got: row.len(),
                });
            }
            let bad = |name: &str, reason: String| Error::CsvCell {
                line,
                column: at.get(name).copied().or(association_column).unwrap_or(0) + 1,
                name: name.into(),
                reason,
            };
            let key = row[at["quantity"]].as_str();
            if !FIELDS.contains(&key) {
                return Err(bad(
                    "quantity",
                    format!("{key:?} is not one of {}", FIELDS.join(", ")),
                ));
            }
            if (key == "dE/db" || key == "b_after") && !shapes.bias {
                return Err(bad(
                    "quantity",
                    "the network has no bias node, so no bias weights".into(),
                ));
            }
            let index = |name: &str, needed: bool| -> Result<Option<usize>> {
                let cell = match name {
                    "association" => association_column.map_or("", |c| row[c].as_str()),
                    _ => row[at[name]].as_str(),
                };
                match (cell.is_empty(), needed) {
                    (true, true) => Err(bad(name, format!("{key} needs a {name}"))),
                    (true, false) => Ok(None),
                    (false, false) => {
                        Err(bad(name, format!("{key} has no {name}: leave it empty")))
                    }
                    (false, true) => cell
                        .parse::<usize>()
                        .map(Some)
                        .map_err(|_| bad(name, format!("{cell:?} is not an index (0, 1, ...)"))),
                }
            };
            let batch = (key == "y" || key == "delta") && shapes.associations > 1;
            let mut idx = Vec::new();
            if batch {
                let t = index("association", false).or_else(|_| index("association", true))?;
                let t = t.unwrap_or(0);
                if t >= shapes.associations {
                    return Err(bad(
                        "association",
                        format!("{t} is out of range: there are {}", shapes.associations),
                    ));
                }
                idx.push(t);
            }
            let weight = key == "dE/dW" || key == "W_after";
            let parts = [
                ("layer", index("layer", true)?),
                ("to", index("to", true)?),
                ("from", index("from", weight)?),
            ];
            for (name, value) in parts {
                let Some(value) = value else { continue };
                let (width, what) = shapes
                    .expect(key, &idx)
                    .expect("internal error: an index is expected here");
                if value >= width {
                    return Err(bad(
                        name,
                        format!("{value} is out of range: {what}, {width} of them"),
                    ));
                }
                idx.push(value);
            }
            let cell = &row[at["value"]];
            let typed = Typed::parse(cell).map_err(|reason| bad("value", reason))?;
            let q = shapes.quantity(key, &idx);
            if let Some(first) = first_seen.insert(q, line) {
                return Err(bad(
                    "quantity",
                    format!("{q} is given twice (first on line {first})"),
                ));
            }
            answers.insert(q, typed);
        }
        if rows == 0 {
            return Err(Error::CsvNoRows { header_line });
        }
        Ok(answers)
    }
}
