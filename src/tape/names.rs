//! Inputs and parameters by handle or label, not by position: an association given as
//! `(input, value)` pairs in any order, a parameter read or set by its node.

use std::collections::HashMap;

use super::{Tape, Workspace};
use crate::error::{Error, Result};
use crate::graph::NodeId;

impl Tape {
    /// The slot of input `node`: its position in an association's values.
    ///
    /// # Errors
    /// [`Error::ForeignNode`]/[`Error::NodeAfterCompile`]; [`Error::NotAnInput`].
    pub fn input_slot(&self, node: impl Into<NodeId>) -> Result<usize> {
        let node = self.check(node.into())?;
        (self.inputs.iter().position(|&n| n == node)).ok_or_else(|| Error::NotAnInput {
            node: self.name(node),
        })
    }

    /// The slot of parameter `node`: its position in [`Tape::params`],
    /// [`Tape::param_values`] and a gradient over parameters.
    ///
    /// # Errors
    /// [`Error::ForeignNode`]/[`Error::NodeAfterCompile`]; [`Error::NotAParam`].
    pub fn param_slot(&self, node: impl Into<NodeId>) -> Result<usize> {
        let node = self.check(node.into())?;
        (self.params.iter().position(|&n| n == node)).ok_or_else(|| Error::NotAParam {
            node: self.name(node),
        })
    }

    /// The current value of parameter `node` in a workspace.
    ///
    /// # Errors
    /// As [`Tape::param_slot`]; [`Error::WorkspaceMismatch`].
    pub fn param(&self, ws: &Workspace, node: impl Into<NodeId>) -> Result<f64> {
        self.check_workspace(ws)?;
        let slot = self.param_slot(node)?;
        Ok(ws.values[self.param_rows[slot] as usize])
    }

    /// Sets parameter `node` in a workspace, for the following passes.
    ///
    /// # Errors
    /// As [`Tape::param_slot`]; [`Error::WorkspaceMismatch`].
    pub fn set_param(&self, ws: &mut Workspace, node: impl Into<NodeId>, value: f64) -> Result<()> {
        self.check_workspace(ws)?;
        let slot = self.param_slot(node)?;
        ws.values[self.param_rows[slot] as usize] = value;
        Ok(())
    }

    /// One association's values in slot order (what [`Tape::forward`] takes), from
    /// `(input, value)` pairs in any order: declaring another input does not shift the others.
    ///
    /// # Errors
    /// [`Error::ForeignNode`]/[`Error::NodeAfterCompile`]; [`Error::NotAnInput`];
    /// [`Error::InputGivenTwice`]; [`Error::MissingInput`] naming the first input without a
    /// value.
    ///
    /// # Examples
    /// ```
    /// use backprop::Graph;
    /// let g = Graph::new();
    /// let (x, target) = (g.input("x"), g.input("target"));
    /// let loss = (x * 2.0 - target).powf(2.0);
    /// let tape = g.compile()?;
    /// let association = tape.association([(target, 1.0), (x, 3.0)])?;
    /// assert_eq!(association, [3.0, 1.0]);
    /// assert_eq!(tape.evaluate(&association, loss)?, 25.0);
    /// # Ok::<(), backprop::Error>(())
    /// ```
    pub fn association<N: Into<NodeId>>(
        &self,
        values: impl IntoIterator<Item = (N, f64)>,
    ) -> Result<Vec<f64>> {
        let mut slots: Vec<Option<f64>> = vec![None; self.inputs.len()];
        for (node, value) in values {
            let node = node.into();
            let slot = self.input_slot(node)?;
            if slots[slot].replace(value).is_some() {
                return Err(Error::InputGivenTwice {
                    node: self.name(self.inputs[slot]),
                });
            }
        }
        self.complete(slots)
    }

    /// [`Tape::association`] with the inputs named by their labels.
    ///
    /// # Errors
    /// [`Error::InputLabel`] for a label that no input, or more than one, carries;
    /// [`Error::InputGivenTwice`]; [`Error::MissingInput`].
    ///
    /// # Examples
    /// ```
    /// use backprop::Graph;
    /// let g = Graph::new();
    /// let (x, target) = (g.input("x"), g.input("target"));
    /// let loss = (x * 2.0 - target).powf(2.0);
    /// let tape = g.compile()?;
    /// let association = tape.association_by_label([("target", 1.0), ("x", 3.0)])?;
    /// assert_eq!(tape.evaluate(&association, loss)?, 25.0);
    /// assert!(tape.association_by_label([("x", 3.0)]).is_err()); // no target
    /// # Ok::<(), backprop::Error>(())
    /// ```
    pub fn association_by_label<'a>(
        &self,
        values: impl IntoIterator<Item = (&'a str, f64)>,
    ) -> Result<Vec<f64>> {
        let by_label = self.inputs_by_label();
        let mut slots: Vec<Option<f64>> = vec![None; self.inputs.len()];
        for (label, value) in values {
            let slot = self.labelled_slot(&by_label, label)?;
            if slots[slot].replace(value).is_some() {
                return Err(Error::InputGivenTwice {
                    node: self.name(self.inputs[slot]),
                });
            }
        }
        self.complete(slots)
    }

    /// Many associations at once, from one column of values per input (any order): the values
    /// that [`crate::train::train_graph`], [`crate::gradcheck::check_graph`] and
    /// [`Tape::association_count`] take, association `t` being the `t`-th value of every column,
    /// in slot order.
    ///
    /// # Errors
    /// [`Error::ForeignNode`]/[`Error::NodeAfterCompile`]; [`Error::NotAnInput`];
    /// [`Error::InputGivenTwice`]; [`Error::MissingInput`] naming the first input without a
    /// column; [`Error::Shape`] naming the first column whose length differs from the first's.
    ///
    /// # Examples
    /// ```
    /// use backprop::Graph;
    /// let g = Graph::new();
    /// let (x, target) = (g.input("x"), g.input("target"));
    /// let loss = (x * 2.0 - target).powf(2.0);
    /// let tape = g.compile()?;
    /// let data = tape.associations([(target, [1.0, 0.0]), (x, [3.0, 4.0])])?;
    /// assert_eq!(data, [3.0, 1.0, 4.0, 0.0]);
    /// # Ok::<(), backprop::Error>(())
    /// ```
    pub fn associations<N: Into<NodeId>, V: AsRef<[f64]>>(
        &self,
        columns: impl IntoIterator<Item = (N, V)>,
    ) -> Result<Vec<f64>> {
        let mut slots: Vec<Option<V>> = (0..self.inputs.len()).map(|_| None).collect();
        for (node, values) in columns {
            let slot = self.input_slot(node)?;
            if slots[slot].replace(values).is_some() {
                return Err(Error::InputGivenTwice {
                    node: self.name(self.inputs[slot]),
                });
            }
        }
        self.interleave(slots)
    }

    /// [`Tape::associations`] with the inputs named by their labels.
    ///
    /// # Errors
    /// [`Error::InputLabel`] for a label that no input, or more than one, carries (listing the
    /// labels there are); the others of [`Tape::associations`].
    ///
    /// # Examples
    /// ```
    /// use backprop::Graph;
    /// use backprop::train::{TrainConfig, train_graph};
    /// let g = Graph::new();
    /// let (x, target) = (g.input("x"), g.input("target"));
    /// let w = g.param("w", 0.0);
    /// let loss = (x * w - target).powf(2.0) * 0.5;
    /// let mut tape = g.compile()?;
    /// let data = tape.associations_by_label([
    ///     ("x", vec![1.0, 2.0, 3.0]),
    ///     ("target", vec![2.0, 4.0, 6.0]),
    /// ])?;
    /// train_graph(&mut tape, loss, &data, &TrainConfig::gradient_descent(0.05, 500))?;
    /// assert!((tape.param_values()[0] - 2.0).abs() < 1e-9); // target = 2 x
    /// # Ok::<(), backprop::Error>(())
    /// ```
    pub fn associations_by_label<'a, V: AsRef<[f64]>>(
        &self,
        columns: impl IntoIterator<Item = (&'a str, V)>,
    ) -> Result<Vec<f64>> {
        let by_label = self.inputs_by_label();
        let mut slots: Vec<Option<V>> = (0..self.inputs.len()).map(|_| None).collect();
        for (label, values) in columns {
            let slot = self.labelled_slot(&by_label, label)?;
            if slots[slot].replace(values).is_some() {
                return Err(Error::InputGivenTwice {
                    node: self.name(self.inputs[slot]),
                });
            }
        }
        self.interleave(slots)
    }

    /// Every input slot's column, transposed into associations one after the other.
    fn interleave<V: AsRef<[f64]>>(&self, slots: Vec<Option<V>>) -> Result<Vec<f64>> {
        let mut columns = Vec::with_capacity(slots.len());
        for (slot, column) in slots.into_iter().enumerate() {
            match column {
                Some(values) => columns.push((slot, values)),
                None => {
                    return Err(Error::MissingInput {
                        node: self.name(self.inputs[slot]),
                    });
                }
            }
        }
        let Some(t_count) = columns.first().map(|(_, v)| v.as_ref().len()) else {
            return Ok(Vec::new());
        };
        for (slot, values) in &columns {
            if values.as_ref().len() != t_count {
                return Err(Error::Shape {
                    what: format!(
                        "values of {} (one per association, as many as for {})",
                        self.name(self.inputs[*slot]),
                        self.name(self.inputs[0])
                    ),
                    expected: t_count,
                    got: values.as_ref().len(),
                });
            }
        }
        let mut data = Vec::with_capacity(t_count * columns.len());
        for t in 0..t_count {
            data.extend(columns.iter().map(|(_, values)| values.as_ref()[t]));
        }
        Ok(data)
    }

    /// The input slots of each label.
    fn inputs_by_label(&self) -> HashMap<&str, Vec<usize>> {
        let mut by_label: HashMap<&str, Vec<usize>> = HashMap::new();
        for (slot, node) in self.inputs.iter().enumerate() {
            if let Some(label) = self.labels.get(node) {
                by_label.entry(label).or_default().push(slot);
            }
        }
        by_label
    }

    /// The one input slot labelled `label`, or an error listing the labels there are.
    fn labelled_slot(&self, by_label: &HashMap<&str, Vec<usize>>, label: &str) -> Result<usize> {
        match by_label.get(label).map(Vec::as_slice) {
            Some(&[slot]) => Ok(slot),
            found => Err(Error::InputLabel {
                label: label.into(),
                count: found.map_or(0, <[usize]>::len),
                labels: (self.inputs.iter())
                    .filter_map(|n| self.labels.get(n).map(|l| l.to_string()))
                    .collect(),
            }),
        }
    }

    /// The values of every slot, or the first input without one.
    fn complete(&self, slots: Vec<Option<f64>>) -> Result<Vec<f64>> {
        (slots.into_iter().enumerate())
            .map(|(slot, value)| {
                value.ok_or_else(|| Error::MissingInput {
                    node: self.name(self.inputs[slot]),
                })
            })
            .collect()
    }
}
