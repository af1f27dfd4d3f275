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
    /// [`Error::ForeignNode`]/[`Error::UnknownNode`]; [`Error::NotAnInput`].
    pub fn input_slot(&self, node: impl Into<NodeId>) -> Result<usize> {
        let node = self.check(node.into())?;
        (self.inputs.iter().position(|&n| n == node)).ok_or_else(|| Error::NotAnInput {
            node: self.name(node),
        })
    }

    /// The slot of parameter `node`: its position in [`Tape::params`],
    /// [`Tape::initial_params`] and a gradient over parameters.
    ///
    /// # Errors
    /// [`Error::ForeignNode`]/[`Error::UnknownNode`]; [`Error::NotAParam`].
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
    /// [`Error::ForeignNode`]/[`Error::UnknownNode`]; [`Error::NotAnInput`];
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
        let mut by_label: HashMap<&str, Vec<usize>> = HashMap::new();
        for (slot, node) in self.inputs.iter().enumerate() {
            if let Some(label) = self.labels.get(node) {
                by_label.entry(label).or_default().push(slot);
            }
        }
        let mut slots: Vec<Option<f64>> = vec![None; self.inputs.len()];
        for (label, value) in values {
            let slot = match by_label.get(label).map(Vec::as_slice) {
                Some(&[slot]) => slot,
                found => {
                    return Err(Error::InputLabel {
                        label: label.into(),
                        count: found.map_or(0, <[usize]>::len),
                    });
                }
            };
            if slots[slot].replace(value).is_some() {
                return Err(Error::InputGivenTwice {
                    node: self.name(self.inputs[slot]),
                });
            }
        }
        self.complete(slots)
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
