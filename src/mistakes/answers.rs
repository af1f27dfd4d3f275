//! A user's numbers: the answers format (JSON, or CSV for spreadsheets), read with each number's
//! text kept so that its precision is known, and written (an exercise's key).
//!
//! # JSON
//! ```json
//! {"format": "backprop-answers", "version": 1,
//!  "y": [[1.0, 1.0], [0.731, 0.731], [0.731]],
//!  "delta": [[], [0.0227, 0.0227], [0.231]],
//!  "dE/dW": [[[0.0227, 0.0227], [0.0227, 0.0227]], [[0.168861, 0.168861]]],
//!  "dE/db": null,
//!  "W_after": [[[0.499773, 0.499773], [0.499773, 0.499773]], [[0.49831139, 0.49831139]]],
//!  "b_after": null}
//! ```
//! Every field is optional, and `null` anywhere (a field, a layer, a node) means "not given".
//! The layouts are the model file's: `y[l][j]` node `j` of layer `l` (`y[0]`: the inputs);
//! `delta[l][j]` for layers `1..=L` (`delta[0]`, the input layer's, is `[]` or `null`);
//! `dE/dW[l][j][i]` and `W_after[l][j][i]` from node `i` of layer `l` to node `j` of layer
//! `l + 1`; `dE/db[l][j]` and `b_after[l][j]` from layer `l`'s bias node. With a batch of `T`
//! associations, `y` and `delta` have one more level in front: `y[t][l][j]`. Lists of every
//! layer are given in full (a `null` for a layer left out), so that indices never shift. Numbers
//! are read as typed: their digits are their precision (see [`super::precision`]).
//!
//! # CSV
//! A header naming the columns `quantity,layer,from,to,value` (in any order, and an optional
//! `association` column, 0 when absent or empty), then one number per row: `quantity` is one of
//! the JSON fields; `from` and `to` are the weight's two nodes (`dE/dW`, `W_after`); a node of
//! `y`, `delta`, `dE/db`, `b_after` is in `to`, with `from` empty.
//! ```text
//! quantity,layer,from,to,value
//! delta,1,,0,0.0227
//! dE/dW,1,0,0,0.168861
//! ```

use std::collections::HashMap;

use serde_json::value::RawValue;

use super::Problem;
use super::precision::Typed;
use super::quantity::Quantity;
use super::step::Numbers;
use crate::error::{Error, Result};
use crate::model_file::{check_header, invalid};

/// The value of the `format` field.
pub const FORMAT: &str = "backprop-answers";
/// The format version this program reads and writes.
pub const VERSION: u64 = 1;
/// The fields of the answers format, in the order of the computation.
pub const FIELDS: [&str; 6] = ["y", "delta", "dE/dW", "dE/db", "W_after", "b_after"];

/// A user's numbers, each with the text it was typed as.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Answers {
    numbers: Vec<(Quantity, Typed)>,
}

/// A JSON value with its numbers' texts kept: a number, `null`, or a list.
enum Tree {
    Number(Typed),
    Null,
    List(Vec<Tree>),
}

fn tree(raw: &RawValue, path: &str) -> Result<Tree> {
    let text = raw.get().trim();
    if text == "null" {
        return Ok(Tree::Null);
    }
    if text.starts_with('[') {
        let items: Vec<&RawValue> =
            serde_json::from_str(text).map_err(|e| invalid("answers", format!("{path}: {e}")))?;
        return items
            .iter()
            .enumerate()
            .map(|(n, item)| tree(item, &format!("{path}[{n}]")))
            .collect::<Result<Vec<_>>>()
            .map(Tree::List);
    }
    Typed::parse(text).map(Tree::Number).map_err(|reason| {
        invalid(
            "answers",
            format!("{path}: {reason}; expected a number or null"),
        )
    })
}

/// Walks `tree`, checking each list's length against `shapes` for `key`, and calling `found`
/// with each number's indices.
fn walk(
    tree: &Tree,
    path: &str,
    shapes: &Shapes,
    key: &str,
    at: &mut Vec<usize>,
    found: &mut dyn FnMut(&[usize], Typed),
) -> Result<()> {
    match (tree, shapes.expect(key, at)) {
        (Tree::Null, _) => Ok(()),
        (Tree::Number(t), None) => {
            found(at, t.clone());
            Ok(())
        }
        (Tree::Number(t), Some((_, what))) => Err(invalid(
            "answers",
            format!("{path}: a number ({t}) where a list of {what} belongs"),
        )),
        (Tree::List(_), None) => Err(invalid(
            "answers",
            format!("{path}: a list where a number belongs"),
        )),
        (Tree::List(items), Some((width, what))) => {
            if items.len() != width {
                return Err(invalid(
                    "answers",
                    format!(
                        "{path}: {} entries, expected {width} ({what}); write null for one you leave out",
                        items.len()
                    ),
                ));
            }
            for (n, item) in items.iter().enumerate() {
                at.push(n);
                walk(item, &format!("{path}[{n}]"), shapes, key, at, found)?;
                at.pop();
            }
            Ok(())
        }
    }
}

impl Answers {
    /// No numbers.
    pub fn new() -> Answers {
        Answers::default()
    }

    /// Gives `quantity` as `typed` (replacing an earlier number for it).
    pub fn insert(&mut self, quantity: Quantity, typed: Typed) {
        self.numbers.retain(|(q, _)| *q != quantity);
        self.numbers.push((quantity, typed));
    }

    /// Gives `quantity` as the number `text` (its digits are its precision).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the quantity's field when `text` is not a finite number.
    pub fn with(mut self, quantity: Quantity, text: &str) -> Result<Answers> {
        let typed = Typed::parse(text).map_err(|reason| Error::InvalidOption {
            name: quantity.field().into(),
            reason,
        })?;
        self.insert(quantity, typed);
        Ok(self)
    }

    /// The numbers given, in the order they were given.
    pub fn iter(&self) -> impl Iterator<Item = (Quantity, &Typed)> {
        self.numbers.iter().map(|(q, t)| (*q, t))
    }

    /// How many numbers are given.
    pub fn len(&self) -> usize {
        self.numbers.len()
    }

    /// Whether no number is given.
    pub fn is_empty(&self) -> bool {
        self.numbers.is_empty()
    }

    /// The numbers of `fields` of a step, each written with `decimals` decimals (`None`: every
    /// digit, as a program writes them): what a user who made the step's computation types.
    pub fn from_numbers(numbers: &Numbers, fields: &[&str], decimals: Option<usize>) -> Answers {
        let mut answers = Answers::new();
        for q in numbers.quantities() {
            if !fields.contains(&q.field()) {
                continue;
            }
            let value = numbers.get(q).unwrap_or(f64::NAN);
            let typed = match decimals {
                Some(d) => Typed::parse(&format!("{value:.d$}")),
                None => Ok(Typed::exact(value)),
            };
            if let Ok(typed) = typed {
                answers.numbers.push((q, typed));
            }
        }
        answers
    }

    /// Reads an answers file for `problem` (at most 16 MiB): JSON when it starts with `{`,
    /// else CSV.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::TooLarge`], and those of [`Answers::from_json_str`] and
    /// [`Answers::from_csv_str`].
    pub fn load(path: impl AsRef<std::path::Path>, problem: &Problem) -> Result<Answers> {
        let text = crate::files::read_to_string_limited(path.as_ref(), 16 << 20)?;
        if text.trim_start().starts_with('{') {
            Answers::from_json_str(&text, problem)
        } else {
            Answers::from_csv_str(&text, problem)
        }
    }

    /// Reads the JSON answers format (see the module's documentation) for `problem`.
    ///
    /// # Errors
    /// [`Error::InvalidFile`] naming the field and the place in it: text that is not JSON (with
    /// its line and column), a wrong `format`, an unknown field, a list of the wrong length (a
    /// layer missing, a node too many), a number where a list belongs, text or `NaN` where a
    /// number belongs, bias numbers for a network without bias;
    /// [`Error::UnsupportedVersion`] for a version newer than [`VERSION`].
    pub fn from_json_str(text: &str, problem: &Problem) -> Result<Answers> {
        check_header(text, "answers", FORMAT, VERSION)?;
        let fields: HashMap<String, Box<RawValue>> =
            serde_json::from_str(text).map_err(|e| invalid("answers", e.to_string()))?;
        let mut answers = Answers::new();
        let shapes = Shapes::of(problem);
        for (key, raw) in &fields {
            if key == "format" || key == "version" {
                continue;
            }
            if !FIELDS.contains(&key.as_str()) {
                return Err(invalid(
                    "answers",
                    format!(
                        "unknown field {key:?} (the fields are {})",
                        FIELDS.join(", ")
                    ),
                ));
            }
            let path = format!("{key:?}");
            let tree = tree(raw, &path)?;
            if matches!(tree, Tree::Null) {
                continue;
            }
            if (key == "dE/db" || key == "b_after") && !shapes.bias {
                return Err(invalid(
                    "answers",
                    format!("{path}: the network has no bias node, so no bias weights"),
                ));
            }
            let mut at = Vec::new();
            walk(&tree, &path, &shapes, key, &mut at, &mut |idx, typed| {
                answers.numbers.push((shapes.quantity(key, idx), typed));
            })?;
        }
        Ok(answers)
    }
}

/// The expected lengths of each field's lists, for one problem.
pub(super) struct Shapes {
    pub(super) sizes: Vec<usize>,
    pub(super) associations: usize,
    pub(super) bias: bool,
}

impl Shapes {
    pub(super) fn of(problem: &Problem) -> Shapes {
        Shapes {
            sizes: problem.net.sizes.clone(),
            associations: problem.inputs.len(),
            bias: problem.net.bias.is_some(),
        }
    }

    /// The length of the list expected at indices `at` of field `key` and what it lists, or
    /// `None` where a number belongs.
    pub(super) fn expect(&self, key: &str, at: &[usize]) -> Option<(usize, String)> {
        let layers = self.sizes.len();
        let at = match key {
            "y" | "delta" if self.associations > 1 => match at.split_first() {
                None => return Some((self.associations, "one per association".into())),
                Some((_, rest)) => rest,
            },
            _ => at,
        };
        match (key, at) {
            ("y" | "delta", []) => Some((layers, format!("one per layer, 0 to {}", layers - 1))),
            ("delta", [0]) => Some((0, "the input layer has no delta: [] or null".into())),
            ("y" | "delta", [l]) => Some((self.sizes[*l], format!("the nodes of layer {l}"))),
            ("dE/dW" | "W_after" | "dE/db" | "b_after", []) => Some((
                layers - 1,
                format!("one per layer of weights, 0 to {}", layers - 2),
            )),
            ("dE/dW" | "W_after" | "dE/db" | "b_after", [l]) => Some((
                self.sizes[l + 1],
                format!("one per node j of layer {}", l + 1),
            )),
            ("dE/dW" | "W_after", [l, _]) => {
                Some((self.sizes[*l], format!("one per node i of layer {l}")))
            }
            _ => None,
        }
    }

    /// The quantity at indices `idx` of field `key` (indices checked by [`Shapes::expect`]).
    pub(super) fn quantity(&self, key: &str, idx: &[usize]) -> Quantity {
        let (association, idx) = match key {
            "y" | "delta" if self.associations > 1 => (idx[0], &idx[1..]),
            _ => (0, idx),
        };
        match (key, idx) {
            ("y", &[layer, node]) => Quantity::Y {
                association,
                layer,
                node,
            },
            ("delta", &[layer, node]) => Quantity::Delta {
                association,
                layer,
                node,
            },
            ("dE/dW", &[layer, to, from]) => Quantity::GradW { layer, from, to },
            ("W_after", &[layer, to, from]) => Quantity::WAfter { layer, from, to },
            ("dE/db", &[layer, node]) => Quantity::GradB { layer, node },
            ("b_after", &[layer, node]) => Quantity::BAfter { layer, node },
            _ => unreachable!("internal error: {key} at {idx:?} is not a number's place"),
        }
    }
}
