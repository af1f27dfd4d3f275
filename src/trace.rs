//! A step-by-step record of one training step, in the tutorial's notation: the forward values,
//! the error, the deltas, each weight's gradient, the updated weights, and a second forward pass.
//!
//! Every number comes from the graph's passes (through [`Mlp::evaluate`]); this module only
//! arranges and renders them. It owns no maths.

use std::fmt::Write;

use crate::error::Result;
use crate::nn::{Connection, Mlp};

/// The part of a training step a [`Step`] belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// The forward pass: `x` and `y` of every node.
    Forward,
    /// The error `E_t` and the output errors `y - y'`.
    Error,
    /// The deltas, output layer first.
    Backward,
    /// `dE/dw` of every weight.
    Gradients,
    /// `w - learning_rate * dE/dw`.
    Update,
    /// The forward pass with the updated weights.
    After,
}

impl Section {
    /// The section's heading.
    pub fn title(self) -> &'static str {
        match self {
            Section::Forward => "forward pass",
            Section::Error => "error",
            Section::Backward => "backward pass (deltas)",
            Section::Gradients => "gradients",
            Section::Update => "update",
            Section::After => "forward pass after the update",
        }
    }
}

/// One line of a trace: a named quantity, how it is computed, its exact value.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Where in the training step.
    pub section: Section,
    /// The quantity, in the tutorial's notation (`x_j[0]`, `delta_k[0]`, `dE/dw_jk[1->0]`, ...).
    pub name: String,
    /// How it is computed, with the numbers.
    pub formula: String,
    /// Its exact (f64) value.
    pub value: f64,
}

/// A printed figure to show beside the exact value of the steps it names.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// The section of the steps.
    pub section: Section,
    /// The step's name, or a prefix ending in `[*]` for every node of a layer (`y_j[*]`).
    pub name: &'static str,
    /// The figure as printed.
    pub printed: &'static str,
    /// Why it differs from the exact value, if it does beyond rounding.
    pub note: &'static str,
}

impl Figure {
    /// Whether this figure is for `step`.
    pub fn matches(&self, step: &Step) -> bool {
        if step.section != self.section {
            return false;
        }
        match self.name.strip_suffix("[*]") {
            Some(prefix) => step
                .name
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('[')),
            None => step.name == self.name,
        }
    }
}

/// The record of one training step.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The learning rate of the update.
    pub learning_rate: f64,
    /// `dE_t/dw` of every weight, by parameter slot (the layout of [`Mlp::params`]).
    pub gradient: Vec<f64>,
    /// The weights after the update `w - learning_rate * dE_t/dw`, by parameter slot.
    pub updated: Vec<f64>,
}

/// The name of layer `l`'s nodes: the tutorial's `i`, `j`, `k` for a three-layer network,
/// `l0`, `l1`, ... otherwise.
fn layer_letter(layers: usize, l: usize) -> String {
    if layers == 3 {
        ["i", "j", "k"][l].to_string()
    } else {
        format!("l{l}")
    }
}

/// Products `a*b + c*d` to 6 decimals, or `sum of N products` beyond four: the formulas'
/// text, shared by the trace and the mistakes' explanations.
pub(crate) fn terms(parts: &[(f64, f64)]) -> String {
    if parts.len() > 4 {
        return format!("sum of {} products", parts.len());
    }
    parts
        .iter()
        .map(|(a, b)| format!("{a:.6}*{b:.6}"))
        .collect::<Vec<_>>()
        .join(" + ")
}

impl Trace {
    /// Records one training step of `net` on one association with plain gradient descent:
    /// forward, error, deltas, gradients, `w = w - learning_rate * dE/dw`, forward again.
    /// The network itself is not changed.
    ///
    /// # Errors
    /// [`crate::Error::Shape`] for an input or target of the wrong width.
    pub fn training_step(
        net: &Mlp,
        input: &[f64],
        target: &[f64],
        learning_rate: f64,
    ) -> Result<Trace> {
        let eval = net.evaluate(input, target)?;
        let sizes = net.sizes().to_vec();
        let layers = sizes.len();
        let last = layers - 1;
        let name = |l: usize| layer_letter(layers, l);
        let bias = match net.spec().bias {
            crate::nn::Bias::None => None,
            crate::nn::Bias::Node(v) => Some(v),
        };
        let mut steps = Vec::new();
        let mut push = |section, name: String, formula: String, value: f64| {
            steps.push(Step {
                section,
                name,
                formula,
                value,
            });
        };
        // forward
        for i in 0..sizes[0] {
            push(
                Section::Forward,
                format!("y_{}[{i}]", name(0)),
                format!("x_{}[{i}] (identity input)", name(0)),
                eval.y(0, i)?,
            );
        }
        for l in 1..layers {
            let act = net.spec().activations[l - 1];
            for j in 0..sizes[l] {
                let mut parts: Vec<(f64, f64)> = (0..sizes[l - 1])
                    .map(|i| {
                        Ok((
                            eval.y(l - 1, i)?,
                            net.weight(Connection {
                                layer: l - 1,
                                from: i,
                                to: j,
                            })?,
                        ))
                    })
                    .collect::<Result<_>>()?;
                if let Some(b) = bias {
                    parts.push((b, net.bias_weight(l - 1, j)?));
                }
                push(
                    Section::Forward,
                    format!("x_{}[{j}]", name(l)),
                    terms(&parts),
                    eval.x(l, j)?,
                );
                push(
                    Section::Forward,
                    format!("y_{}[{j}]", name(l)),
                    format!("{act}(x_{}[{j}])", name(l)),
                    eval.y(l, j)?,
                );
            }
        }
        // error
        let output = eval.output();
        for (k, (&y, &t)) in output.iter().zip(target).enumerate() {
            push(
                Section::Error,
                format!("y_{0}[{k}] - y'_{0}[{k}]", name(last)),
                format!("{y:.6} - {t:.6}"),
                y - t,
            );
        }
        push(
            Section::Error,
            "E".into(),
            net.spec().loss.name().replace('_', " "),
            eval.error(),
        );
        // backward: deltas, output layer first
        for l in (1..layers).rev() {
            let act = net.spec().activations[l - 1];
            for j in 0..sizes[l] {
                let formula = if l == last {
                    format!("dE/dy_{0}[{j}] * {act}'(x_{0}[{j}])", name(l))
                } else {
                    format!(
                        "{act}'(x_{0}[{j}]) * sum_{1} delta_{1} w_{0}{1}",
                        name(l),
                        name(l + 1)
                    )
                };
                push(
                    Section::Backward,
                    format!("delta_{}[{j}]", name(l)),
                    formula,
                    eval.delta(l, j)?,
                );
            }
        }
        // gradients and update, output side first as the tutorial goes
        let mut updates = Vec::new();
        let mut gradient = vec![0.0; net.params().len()];
        for l in (0..last).rev() {
            let (a, b) = (name(l), name(l + 1));
            for j in 0..sizes[l + 1] {
                for i in 0..sizes[l] {
                    let w_ij = Connection {
                        layer: l,
                        from: i,
                        to: j,
                    };
                    let g = eval.weight_gradient(w_ij)?;
                    push(
                        Section::Gradients,
                        format!("dE/dw_{a}{b}[{i}->{j}]"),
                        format!(
                            "delta_{b}[{j}] * y_{a}[{i}] = {:.6} * {:.6}",
                            eval.delta(l + 1, j)?,
                            eval.y(l, i)?
                        ),
                        g,
                    );
                    let (w, slot) = (net.weight(w_ij)?, net.weight_slot(w_ij)?);
                    gradient[slot] = g;
                    updates.push((
                        slot,
                        format!("w_{a}{b}[{i}->{j}]"),
                        format!("{w:.6} - {learning_rate} * {g:.6}"),
                        w - learning_rate * g,
                    ));
                }
                if let Some(bias) = bias {
                    let g = eval.bias_gradient(l, j)?;
                    push(
                        Section::Gradients,
                        format!("dE/db_{b}[{j}]"),
                        format!("delta_{b}[{j}] * {bias}"),
                        g,
                    );
                    let w = net.bias_weight(l, j)?;
                    gradient[net.bias_slot(l, j)?] = g;
                    updates.push((
                        net.bias_slot(l, j)?,
                        format!("b_{b}[{j}]"),
                        format!("{w:.6} - {learning_rate} * {g:.6}"),
                        w - learning_rate * g,
                    ));
                }
            }
        }
        let mut params = net.params().to_vec();
        for (slot, name, formula, value) in updates {
            params[slot] = value;
            push(Section::Update, name, formula, value);
        }
        // forward again
        let after = net.evaluate_with_params(&params, input, target)?;
        for (k, (&y, &t)) in after.output().iter().zip(target).enumerate() {
            push(
                Section::After,
                format!("y_{}[{k}]", name(last)),
                "forward pass with the updated weights".into(),
                y,
            );
            push(
                Section::After,
                format!("y_{0}[{k}] - y'_{0}[{k}]", name(last)),
                format!("{y:.6} - {t:.6}"),
                y - t,
            );
        }
        push(
            Section::After,
            "E".into(),
            "error with the updated weights".into(),
            after.error(),
        );
        Ok(Trace {
            steps,
            learning_rate,
            gradient,
            updated: params,
        })
    }

    /// The steps of a section whose name is `name` (exact match).
    pub fn value(&self, section: Section, name: &str) -> Option<f64> {
        self.steps
            .iter()
            .find(|s| s.section == section && s.name == name)
            .map(|s| s.value)
    }

    /// A fixed-precision text: one line per step (exact value to 9 decimals), with the printed
    /// figure (and a note where it is not the exact value rounded) of each matching [`Figure`].
    pub fn render(&self, figures: &[Figure]) -> String {
        let mut out = String::new();
        let mut section = None;
        let width = self.steps.iter().map(|s| s.name.len()).max().unwrap_or(0);
        let formula_width = self
            .steps
            .iter()
            .map(|s| s.formula.len())
            .max()
            .unwrap_or(0);
        for step in &self.steps {
            if section != Some(step.section) {
                if section.is_some() {
                    out.push('\n');
                }
                let _ = writeln!(out, "== {} ==", step.section.title());
                section = Some(step.section);
            }
            let _ = write!(
                out,
                "{:<width$} = {:>13.9}   {:<formula_width$}",
                step.name, step.value, step.formula
            );
            if let Some(f) = figures.iter().find(|f| f.matches(step)) {
                let _ = write!(out, "   tutorial: {}", f.printed);
                if !f.note.is_empty() {
                    let _ = write!(out, " ({})", f.note);
                }
            }
            out.truncate(out.trim_end().len());
            out.push('\n');
        }
        out
    }
}
