//! The CSV reader of one association at a time ([`CsvAssociations`]): the rules of
//! `csv.rs` (header, quoting, blank lines, finite numbers, column roles) on a stream, for data
//! too large to hold, such as the rows `backprop predict` runs a model on.

use std::io::{BufRead, Read};

use super::csv::{Role, check_unique, number, roles, split_cells};
use super::labels::Labels;
use super::{CsvOptions, Scaling, Targets};
use crate::error::{Error, Result};

/// A CSV file read one association at a time: memory for one line and one association,
/// whatever the number of rows. The same rules as [`super::Dataset::from_csv_str`] (a header
/// row, cells quoted or not, blank lines skipped, inputs and targets chosen by [`CsvOptions`],
/// its limits on bytes and rows), with two differences that come from not holding the file: no
/// scaling (scale each association as it comes, as [`crate::model_file::Model::predict`] does),
/// and a label column needs its classes beforehand ([`Targets::Classes`], or
/// [`Targets::Label`] with a number of classes).
///
/// # Examples
/// ```
/// use backprop::data::{CsvAssociations, CsvOptions};
/// let text = "a,b,y\n1,2,3\n\n4,5,6\n";
/// let options = CsvOptions::columns(&["y"]); // borrowed while reading (its class list, if any)
/// let mut rows = CsvAssociations::new(text.as_bytes(), &options)?;
/// assert_eq!(rows.next_association()?, Some((&[1.0, 2.0][..], &[3.0][..])));
/// assert_eq!(rows.next_association()?, Some((&[4.0, 5.0][..], &[6.0][..])));
/// assert_eq!(rows.line(), 4);
/// assert_eq!(rows.next_association()?, None);
/// # Ok::<(), backprop::Error>(())
/// ```
pub struct CsvAssociations<'o, R> {
    reader: R,
    names: Vec<String>,
    roles: Vec<Role>,
    labels: Option<Labels<'o>>,
    /// The line last read (1-based).
    line: usize,
    rows: usize,
    header_line: usize,
    bytes: u64,
    max_bytes: u64,
    max_rows: usize,
    text: String,
    inputs: Vec<f64>,
    targets: Vec<f64>,
}

impl<R> std::fmt::Debug for CsvAssociations<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvAssociations")
            .field("columns", &self.names)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

impl<'o, R: BufRead> CsvAssociations<'o, R> {
    /// Reads the header row and finds the columns `options` asks for.
    ///
    /// # Errors
    /// [`Error::CsvEmpty`]; [`Error::CsvDuplicateColumn`]; [`Error::CsvMissingColumn`];
    /// [`Error::InvalidOption`] for scaling, or for a label whose classes are to be found in
    /// the data; [`Error::Io`]; [`Error::TooLarge`].
    pub fn new(reader: R, options: &'o CsvOptions) -> Result<CsvAssociations<'o, R>> {
        let mut rows = CsvAssociations::header_only(reader, options)?;
        let known = match &options.targets {
            Targets::Classes { labels, .. } => Some(&labels[..]),
            Targets::Columns(_) | Targets::Label { .. } => None,
        };
        rows.select(options, known)?;
        Ok(rows)
    }

    /// Reads the header row only: the columns are chosen by [`CsvAssociations::select`].
    pub(crate) fn header_only(reader: R, options: &CsvOptions) -> Result<CsvAssociations<'o, R>> {
        let mut rows = CsvAssociations {
            reader,
            names: Vec::new(),
            roles: Vec::new(),
            labels: None,
            line: 0,
            rows: 0,
            header_line: 0,
            bytes: 0,
            max_bytes: options.max_bytes,
            max_rows: options.max_rows,
            text: String::new(),
            inputs: Vec::new(),
            targets: Vec::new(),
        };
        let mut first = true;
        loop {
            if !rows.next_line()? {
                return Err(Error::CsvEmpty);
            }
            if first && rows.text.starts_with('\u{feff}') {
                rows.text.drain(..'\u{feff}'.len_utf8());
            }
            first = false;
            if !rows.text.trim().is_empty() {
                break;
            }
        }
        let text = &rows.text;
        let names: Vec<String> = split_cells(rows.line, text)?
            .into_iter()
            .map(|c| c.into_owned())
            .collect();
        check_unique(&names)?;
        rows.names = names;
        rows.header_line = rows.line;
        Ok(rows)
    }

    /// Chooses the inputs and targets among the header's columns, as `options` says; `known`
    /// holds the classes of [`Targets::Classes`] (which `options` may hold too, for a shorter
    /// time).
    pub(crate) fn select(
        &mut self,
        options: &CsvOptions,
        known: Option<&'o [String]>,
    ) -> Result<()> {
        if options.scaling != Scaling::None {
            return Err(Error::InvalidOption {
                name: "scaling".into(),
                reason: "data read one association at a time cannot be scaled as a whole: \
                         scale each association with a fitted scaler"
                    .into(),
            });
        }
        self.roles = roles(&self.names, options)?;
        let labels = match &options.targets {
            Targets::Columns(_) => None,
            Targets::Label { column, classes } => Some(Labels::new(column, *classes, None)),
            Targets::Classes { column, .. } => Some(Labels::new(column, None, known)),
        };
        if labels.as_ref().is_some_and(|l| !l.known_before_reading()) {
            return Err(Error::InvalidOption {
                name: "targets".into(),
                reason: "the classes of a label column read one association at a time must be \
                         known beforehand: give them, or their number"
                    .into(),
            });
        }
        let count = |f: fn(&Role) -> bool| self.roles.iter().filter(|r| f(r)).count();
        self.inputs = vec![0.0; count(|r| matches!(r, Role::Input(_)))];
        let width = match &labels {
            Some(labels) => labels.width_hint(),
            None => count(|r| matches!(r, Role::Target(_))),
        };
        self.targets = vec![0.0; width];
        self.labels = labels;
        Ok(())
    }

    /// The header's columns, in the file's order.
    pub fn columns(&self) -> &[String] {
        &self.names
    }

    /// The line of the last association read (1-based; the header's before the first).
    pub fn line(&self) -> usize {
        self.line
    }

    /// The next association, `(inputs, targets)` (targets one-hot for a label column, empty
    /// without targets), or `None` after the last. Reading goes on after an error at the next
    /// line.
    ///
    /// A header without data rows is an error, as for [`super::Dataset::from_csv_str`].
    ///
    /// # Errors
    /// [`Error::CsvNoRows`]; [`Error::CsvRagged`]; [`Error::CsvCell`] naming the line and column of a cell that is not
    /// a finite number or a class label; [`Error::UnknownClass`]; [`Error::InvalidFile`] for a
    /// quote left open; [`Error::TooLarge`] past the limits; [`Error::Io`].
    pub fn next_association(&mut self) -> Result<Option<(&[f64], &[f64])>> {
        loop {
            if !self.next_line()? {
                if self.rows == 0 {
                    return Err(Error::CsvNoRows {
                        header_line: self.header_line,
                    });
                }
                return Ok(None);
            }
            if !self.text.trim().is_empty() {
                break;
            }
        }
        self.rows += 1;
        if self.rows > self.max_rows {
            return Err(Error::TooLarge {
                what: "the csv data".into(),
                size: self.rows as u64,
                unit: "rows",
                limit: self.max_rows as u64,
            });
        }
        let line = self.line;
        let cells = split_cells(line, &self.text)?;
        if cells.len() != self.names.len() {
            return Err(Error::CsvRagged {
                line,
                expected: self.names.len(),
                got: cells.len(),
            });
        }
        if self.labels.is_some() {
            self.targets.fill(0.0);
        }
        for (column, (cell, role)) in cells.iter().zip(&self.roles).enumerate() {
            let at = |reason: String| Error::CsvCell {
                line,
                column: column + 1,
                name: self.names[column].clone(),
                reason,
            };
            match *role {
                Role::Input(k) => self.inputs[k] = number(cell).map_err(at)?,
                Role::Target(k) => self.targets[k] = number(cell).map_err(at)?,
                Role::Label => {
                    let labels = (self.labels.as_mut())
                        .expect("internal error: a label column has a label reader");
                    let class = labels.id(cell, line, column + 1)?;
                    self.targets[class] = 1.0;
                }
                Role::Ignored => {}
            }
        }
        Ok(Some((&self.inputs, &self.targets)))
    }

    /// Reads the next line into `text` (without its line break); `false` at the end.
    fn next_line(&mut self) -> Result<bool> {
        self.text.clear();
        let io = |e: std::io::Error| Error::Io {
            path: "the csv data".into(),
            reason: e.to_string(),
        };
        // a line may be as long as what is left of the byte limit, and no longer
        let left = self.max_bytes.saturating_sub(self.bytes);
        let read = (&mut self.reader)
            .take(left.saturating_add(1))
            .read_line(&mut self.text)
            .map_err(io)?;
        self.bytes += read as u64;
        if self.bytes > self.max_bytes {
            return Err(Error::TooLarge {
                what: "the csv data".into(),
                size: self.bytes,
                unit: "bytes",
                limit: self.max_bytes,
            });
        }
        if read == 0 {
            return Ok(false);
        }
        self.line += 1;
        let end = self.text.trim_end_matches(['\n', '\r']).len();
        self.text.truncate(end);
        Ok(true)
    }
}
