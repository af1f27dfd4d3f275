//! How the walk writes its steps: numbers as the formulas print them, the tutorial's layer
//! letters, and the builder that appends steps and their quantities (each with the graph's
//! value, the textbook's and their difference).

use super::{GraphFocus, MAX_QUANTITIES, Phase, Quantity, Reveal, Step};
use crate::trace::Section;

/// A number as the formulas print it: 6 decimals, trailing zeros dropped down to one
/// (`0.5`, `1.0`, `0.231059`); scientific notation outside `[1e-6, 1e6)`.
pub fn number(value: f64) -> String {
    let magnitude = value.abs();
    if value != 0.0 && !(1e-6..1e6).contains(&magnitude) {
        return format!("{value:.6e}");
    }
    let text = format!("{:.6}", value + 0.0); // + 0.0: no negative zero
    let trimmed = text.trim_end_matches('0');
    let text = if trimmed.ends_with('.') {
        format!("{trimmed}0")
    } else {
        trimmed.to_string()
    };
    if text == "-0.0" { "0.0".into() } else { text }
}

/// The tutorial's letters for the layers of a three-layer network, `l0`, `l1`, ... otherwise
/// (as `backprop walkthrough` names them).
pub(super) fn letter(layers: usize, l: usize) -> String {
    if layers == 3 {
        ["i", "j", "k"][l].to_string()
    } else {
        format!("l{l}")
    }
}

/// `a * b + c * d ...`, or a count past four terms.
pub(super) fn products(parts: &[(f64, f64)]) -> String {
    if parts.len() > 4 {
        return format!("(sum of {} products)", parts.len());
    }
    parts
        .iter()
        .map(|(a, b)| format!("{} * {}", number(*a), number(*b)))
        .collect::<Vec<_>>()
        .join(" + ")
}

pub(super) struct Builder {
    pub(super) steps: Vec<Step>,
}

impl Builder {
    pub(super) fn push(&mut self, phase: Phase, title: String, reveal: Reveal, graph: GraphFocus) {
        self.steps.push(Step {
            phase,
            title,
            quantities: Vec::new(),
            omitted: 0,
            reveal,
            graph,
        });
    }

    /// Adds a quantity to the last step; its formula is only built if the step has room.
    pub(super) fn quantity(
        &mut self,
        section: Section,
        name: String,
        formula: impl FnOnce() -> String,
        graph: f64,
        textbook: f64,
    ) {
        let step = self
            .steps
            .last_mut()
            .expect("internal error: a quantity belongs to a step");
        if step.quantities.len() >= MAX_QUANTITIES {
            step.omitted += 1;
            return;
        }
        step.quantities.push(Quantity {
            formula: format!("{name} = {} = {}", formula(), number(graph)),
            name,
            section,
            graph,
            textbook,
            difference: graph - textbook,
        });
    }
}
