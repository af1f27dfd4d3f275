//! The text shown on pictures: deterministic number formatting and the lines that describe a
//! graph node. Shared by the DOT and the SVG pictures of a graph, so that both say the same.

use crate::graph::{Inner, NodeKind};
use crate::op::{Binary, Op};

/// `value` with `decimals` decimals; scientific notation (4 significant digits) when a non-zero
/// magnitude is below `10^-decimals` or at least `10^6`, so that no non-zero number prints as 0;
/// `NaN`, `inf`, `-inf` for non-finite values; never `-0`.
pub(crate) fn number(value: f64, decimals: usize) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.into();
    }
    let magnitude = value.abs();
    let smallest = 10f64.powi(-(decimals.min(300) as i32));
    let text = if magnitude != 0.0 && (magnitude < smallest || magnitude >= 1e6) {
        format!("{value:.3e}")
    } else {
        format!("{value:.decimals$}")
    };
    match text.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => text,
    }
}

/// The decimals of numbers on graph pictures.
pub(crate) const GRAPH_DECIMALS: usize = 4;

/// The lines describing node `index`: its label (or `#index` without one), its kind with the
/// leaf's value or the op's parameter, and optionally `value = ...` and `grad = ...` when the
/// slices reach that far.
pub(crate) fn node_lines(
    inner: &Inner,
    index: usize,
    values: Option<&[f64]>,
    gradients: Option<&[f64]>,
) -> Vec<String> {
    let mut lines = Vec::with_capacity(4);
    lines.push(match inner.labels.get(&(index as u32)) {
        Some(label) => label.to_string(),
        None => format!("#{index}"),
    });
    if let Some(kind) = inner.kind(index) {
        lines.push(kind_text(&kind));
    }
    if let Some(&value) = values.and_then(|v| v.get(index)) {
        lines.push(format!("value = {}", number(value, GRAPH_DECIMALS)));
    }
    if let Some(&gradient) = gradients.and_then(|g| g.get(index)) {
        lines.push(format!("grad = {}", number(gradient, GRAPH_DECIMALS)));
    }
    lines
}

/// `input`, `param = 0.5000`, `const = 1.0000`, or the op (`sigmoid`, `powf(2.0000)`).
fn kind_text(kind: &NodeKind) -> String {
    match *kind {
        NodeKind::Input { .. } => "input".into(),
        NodeKind::Param { value, .. } => format!("param = {}", number(value, GRAPH_DECIMALS)),
        NodeKind::Const(value) => format!("const = {}", number(value, GRAPH_DECIMALS)),
        NodeKind::Op(op) => match op.parameter() {
            Some((_, p)) => format!("{}({})", op.name(), number(p, GRAPH_DECIMALS)),
            None => op.name().into(),
        },
    }
}

/// The label of an edge into an op: the operand's position where the order of operands
/// matters (`sub`, `div`, and `dot`, whose operands pair up 0-1, 2-3, ...), `None` where it
/// does not (commutative ops, unary ops).
pub(crate) fn operand_label(op_kind: Option<&NodeKind>, position: u32) -> Option<String> {
    match op_kind {
        Some(NodeKind::Op(op)) => match op {
            Op::Binary(Binary::Sub | Binary::Div) | Op::Dot => Some(position.to_string()),
            Op::Binary(Binary::Add | Binary::Mul) | Op::Unary(_) | Op::Sum | Op::Max => None,
        },
        Some(NodeKind::Input { .. } | NodeKind::Param { .. } | NodeKind::Const(_)) | None => None,
    }
}

/// Every edge as `(operand, op, position)`, in the order edges were added (creation order of
/// the ops, then operand order): the same order as `petgraph`'s DOT writer.
pub(crate) fn edges(inner: &Inner) -> Vec<(usize, usize, u32)> {
    inner.operand_edges().collect()
}

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn numbers_are_fixed_and_never_negative_zero() {
        assert_eq!(number(0.731_058_578_6, 4), "0.7311");
        assert_eq!(number(-0.000_01, 4), "-1.000e-5");
        assert_eq!(number(-0.0, 4), "0.0000");
        assert_eq!(number(-0.000_04, 2), "-4.000e-5");
        assert_eq!(number(f64::NAN, 4), "NaN");
        assert_eq!(number(f64::NEG_INFINITY, 4), "-inf");
        assert_eq!(number(2.5e7, 4), "2.500e7");
    }
}
