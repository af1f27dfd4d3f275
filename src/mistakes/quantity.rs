//! The numbers of one training step a user can give: what each is, its name in the tutorial's
//! notation (as `walkthrough` prints it), and the order of the computation.

use std::fmt;

/// One number of a training step, in the model file's layout (`W[l][j][i]` from node `i` of
/// layer `l` to node `j` of layer `l + 1`; `b[l][j]` from the bias node into node `j` of layer
/// `l + 1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Quantity {
    /// `y` of node `node` of layer `layer` (layer 0: the inputs) for association `association`.
    Y {
        /// Which association (from 0).
        association: usize,
        /// The layer (0: input).
        layer: usize,
        /// The node.
        node: usize,
    },
    /// `delta = dE_t/dx` of node `node` of layer `layer` (1..=L) for association `association`.
    Delta {
        /// Which association (from 0).
        association: usize,
        /// The layer (1..=L).
        layer: usize,
        /// The node.
        node: usize,
    },
    /// `dE/dW[layer][to][from]`, summed (or averaged) over the associations.
    GradW {
        /// The layer the weight leaves.
        layer: usize,
        /// The node of `layer`.
        from: usize,
        /// The node of `layer + 1`.
        to: usize,
    },
    /// `dE/db[layer][node]`.
    GradB {
        /// The layer whose bias node the weight leaves.
        layer: usize,
        /// The node of `layer + 1`.
        node: usize,
    },
    /// `W[layer][to][from]` after the update.
    WAfter {
        /// The layer the weight leaves.
        layer: usize,
        /// The node of `layer`.
        from: usize,
        /// The node of `layer + 1`.
        to: usize,
    },
    /// `b[layer][node]` after the update.
    BAfter {
        /// The layer whose bias node the weight leaves.
        layer: usize,
        /// The node of `layer + 1`.
        node: usize,
    },
}

/// The name of layer `l`'s nodes: the tutorial's `i`, `j`, `k` for three layers, `l0`, `l1`,
/// ... otherwise (as the trace names them).
pub(crate) fn letter(layers: usize, l: usize) -> String {
    if layers == 3 {
        ["i", "j", "k"][l].to_string()
    } else {
        format!("l{l}")
    }
}

impl Quantity {
    /// The field of the answers format it belongs to: `y`, `delta`, `dE/dW`, `dE/db`,
    /// `W_after`, `b_after`.
    pub fn field(self) -> &'static str {
        match self {
            Quantity::Y { .. } => "y",
            Quantity::Delta { .. } => "delta",
            Quantity::GradW { .. } => "dE/dW",
            Quantity::GradB { .. } => "dE/db",
            Quantity::WAfter { .. } => "W_after",
            Quantity::BAfter { .. } => "b_after",
        }
    }

    /// Its place in the computation: forward (association by association, input layer first),
    /// then the deltas (output layer first), the gradients and the updated weights (output side
    /// first, as the tutorial goes). `layers` is the number of layers, input included.
    pub fn order(self, layers: usize) -> (u8, usize, usize, usize, usize) {
        let back = |l: usize| layers - 1 - l;
        match self {
            Quantity::Y {
                association,
                layer,
                node,
            } => (0, association, layer, node, 0),
            Quantity::Delta {
                association,
                layer,
                node,
            } => (1, back(layer), association, node, 0),
            Quantity::GradW { layer, from, to } => (2, back(layer), to, 0, from),
            Quantity::GradB { layer, node } => (2, back(layer), node, 1, 0),
            Quantity::WAfter { layer, from, to } => (3, back(layer), to, 0, from),
            Quantity::BAfter { layer, node } => (3, back(layer), node, 1, 0),
        }
    }

    /// Its name in the tutorial's notation, as `walkthrough` prints it (`y_j[0]`,
    /// `delta_k[1]`, `dE/dw_jk[0->1]`, `dE/db_k[0]`, `w_jk[0->1]`, `b_k[0]`), for a network of
    /// `layers` layers (input included) trained on `associations` associations (with more than
    /// one, `y` and `delta` say which: `y_j[0] (association 2)`).
    pub fn name(self, layers: usize, associations: usize) -> String {
        let l = |layer| letter(layers, layer);
        let of = |t: usize| {
            if associations > 1 {
                format!(" (association {t})")
            } else {
                String::new()
            }
        };
        match self {
            Quantity::Y {
                association,
                layer,
                node,
            } => format!("y_{}[{node}]{}", l(layer), of(association)),
            Quantity::Delta {
                association,
                layer,
                node,
            } => format!("delta_{}[{node}]{}", l(layer), of(association)),
            Quantity::GradW { layer, from, to } => {
                format!("dE/dw_{}{}[{from}->{to}]", l(layer), l(layer + 1))
            }
            Quantity::GradB { layer, node } => format!("dE/db_{}[{node}]", l(layer + 1)),
            Quantity::WAfter { layer, from, to } => {
                format!("w_{}{}[{from}->{to}]", l(layer), l(layer + 1))
            }
            Quantity::BAfter { layer, node } => format!("b_{}[{node}]", l(layer + 1)),
        }
    }
}

impl fmt::Display for Quantity {
    /// The answers format's address: `delta[1][0]`, `dE/dW[0][1][0]` (`[layer][to][from]`),
    /// with the association first for `y` and `delta` of a batch (`y[t][l][j]`) left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Quantity::Y { layer, node, .. } | Quantity::Delta { layer, node, .. } => {
                write!(f, "{}[{layer}][{node}]", self.field())
            }
            Quantity::GradW { layer, from, to } | Quantity::WAfter { layer, from, to } => {
                write!(f, "{}[{layer}][{to}][{from}]", self.field())
            }
            Quantity::GradB { layer, node } | Quantity::BAfter { layer, node } => {
                write!(f, "{}[{layer}][{node}]", self.field())
            }
        }
    }
}
