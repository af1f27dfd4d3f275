//! The drawing of a layered network as SVG: layers as columns of circles, weights as lines
//! carrying a number each, the bias node as a square. What the numbers are is chosen by
//! [`super::walkthrough`]; this module only places and draws.

use crate::error::Result;
use crate::nn::{Bias, Connection, Mlp};
use crate::render::labels::number;
use crate::render::svg::{Anchor, Svg};

/// Decimals of the numbers on these pictures (the precision of the text trace).
pub(super) const DECIMALS: usize = 6;
/// Horizontal distance between layers.
const COLUMN: f64 = 270.0;
/// Vertical distance between the nodes of a layer.
const ROW: f64 = 120.0;
/// Node radius.
const RADIUS: f64 = 26.0;
/// Half the side of the bias node's square.
const BIAS_HALF: f64 = 20.0;
/// Left and right margin.
const MARGIN: f64 = 110.0;
/// Room above the first row (title, subtitle and layer headings).
const TOP: f64 = 110.0;
/// Room below the last row, before the captions.
const BOTTOM: f64 = 40.0;
/// Height of a caption line.
const CAPTION: f64 = 18.0;
/// Layers with more weights than this draw their lines without numbers.
const MAX_LABELLED_WEIGHTS: usize = 64;
/// Where along a weight's line (from its source) its number sits: near the source, so that the
/// numbers of lines fanning out of one node, and of lines crossing, stay apart.
const LABEL_AT: f64 = 0.3;

/// Where everything goes, shared by the pictures of one network.
pub(super) struct Layout<'n> {
    pub(super) net: &'n Mlp,
    pub(super) bias: Option<f64>,
    width: f64,
    height: f64,
    /// The largest column: nodes, plus the bias square where there is one.
    rows: usize,
}

impl<'n> Layout<'n> {
    pub(super) fn new(net: &'n Mlp) -> Layout<'n> {
        let bias = match net.spec().bias {
            Bias::None => None,
            Bias::Node(value) => Some(value),
        };
        let sizes = net.sizes();
        let rows = (0..sizes.len())
            .map(|l| sizes[l] + usize::from(bias.is_some() && l < net.layers()))
            .max()
            .unwrap_or(1);
        Layout {
            net,
            bias,
            width: 2.0 * MARGIN + COLUMN * net.layers() as f64,
            height: TOP + ROW * rows as f64 + BOTTOM,
            rows,
        }
    }

    fn sizes(&self) -> &[usize] {
        self.net.sizes()
    }

    fn column_x(&self, layer: usize) -> f64 {
        MARGIN + COLUMN * layer as f64
    }

    /// The centre of row `row` of a column of `count` rows, columns centred vertically.
    fn row_y(&self, count: usize, row: usize) -> f64 {
        let offset = (self.rows.saturating_sub(count)) as f64 / 2.0;
        TOP + ROW * (offset + row as f64 + 0.5)
    }

    /// The rows of layer `layer`'s column: its nodes, then the bias square.
    fn column_rows(&self, layer: usize) -> usize {
        self.sizes()[layer] + usize::from(self.has_bias_square(layer))
    }

    fn has_bias_square(&self, layer: usize) -> bool {
        self.bias.is_some() && layer < self.net.layers()
    }

    fn node_center(&self, layer: usize, node: usize) -> (f64, f64) {
        let y = self.row_y(self.column_rows(layer), node);
        (self.column_x(layer), y)
    }

    fn bias_center(&self, layer: usize) -> (f64, f64) {
        let rows = self.column_rows(layer);
        (self.column_x(layer), self.row_y(rows, rows - 1))
    }

    /// The tutorial's letter of a layer's nodes: `i`, `j`, `k` for three layers.
    fn node_name(&self, layer: usize, node: usize) -> String {
        if self.sizes().len() == 3 {
            format!("{}{node}", ["i", "j", "k"][layer])
        } else {
            format!("l{layer}[{node}]")
        }
    }

    fn heading(&self, layer: usize) -> String {
        if layer == 0 {
            return "input".into();
        }
        let activation = self.net.spec().activations[layer - 1];
        if layer == self.net.layers() {
            format!("output ({activation})")
        } else {
            format!("hidden {layer} ({activation})")
        }
    }

    /// Whether some layer has too many weights to print their numbers.
    fn unlabelled(&self) -> bool {
        self.sizes()
            .windows(2)
            .any(|pair| pair[0] * pair[1] > MAX_LABELLED_WEIGHTS)
    }

    /// A new picture with its texts, the layer headings, and the weight lines carrying
    /// each connection's `numbers[weight_slot(..)]` and `numbers[bias_slot(l, j)]`.
    pub(super) fn picture(&self, texts: &Texts, numbers: &[f64]) -> Result<Svg> {
        let mut captions = texts.captions.clone();
        if self.unlabelled() {
            captions.push(UNLABELLED_NOTE.into());
        }
        // rough text widths (bold 16 px and 12 px sans-serif) so that no text is cut off
        let text_width = captions
            .iter()
            .chain([&texts.subtitle])
            .map(|t| 6.8 * t.chars().count() as f64)
            .fold(9.5 * texts.title.chars().count() as f64, f64::max)
            + 40.0;
        let width = self.width.max(text_width.ceil());
        let height = self.height + CAPTION * captions.len() as f64;
        let mut svg = Svg::new(width, height);
        svg.text(20.0, 30.0, Anchor::Start, "title", &texts.title);
        svg.text(20.0, 52.0, Anchor::Start, "note", &texts.subtitle);
        for (k, line) in captions.iter().enumerate() {
            let y = self.height + CAPTION * k as f64;
            svg.text(20.0, y, Anchor::Start, "note", line);
        }
        for l in 0..self.sizes().len() {
            let heading = self.heading(l);
            svg.text(self.column_x(l), 84.0, Anchor::Middle, "note", &heading);
        }
        for l in 0..self.net.layers() {
            let (n_in, n_out) = (self.sizes()[l], self.sizes()[l + 1]);
            let labelled = n_in * n_out <= MAX_LABELLED_WEIGHTS;
            let mut slots = Vec::with_capacity(n_in * n_out + n_out);
            for j in 0..n_out {
                for i in 0..n_in {
                    let slot = self.net.weight_slot(Connection {
                        layer: l,
                        from: i,
                        to: j,
                    })?;
                    slots.push((self.node_center(l, i), j, slot, false));
                }
                if self.bias.is_some() {
                    slots.push((self.bias_center(l), j, self.net.bias_slot(l, j)?, true));
                }
            }
            let largest = slots
                .iter()
                .map(|&(_, _, slot, _)| numbers[slot].abs())
                .filter(|v| v.is_finite())
                .fold(0.0, f64::max);
            for (from, j, slot, dashed) in slots {
                let to = self.node_center(l + 1, j);
                let value = numbers[slot];
                let (start, end) = ((from.0 + RADIUS, from.1), (to.0 - RADIUS, to.1));
                let colour = if value > 0.0 {
                    "#2563eb"
                } else if value < 0.0 {
                    "#dc2626"
                } else {
                    "#6b7280"
                };
                let width = if largest > 0.0 && value.is_finite() {
                    1.0 + 2.5 * value.abs() / largest
                } else {
                    1.0
                };
                let dash = if dashed {
                    " stroke-dasharray=\"6,4\""
                } else {
                    ""
                };
                svg.line(
                    start,
                    end,
                    &format!("stroke=\"{colour}\" stroke-width=\"{width:.2}\"{dash}"),
                );
                if labelled {
                    let at = (
                        start.0 + LABEL_AT * (end.0 - start.0),
                        start.1 + LABEL_AT * (end.1 - start.1) - 4.0,
                    );
                    let text = number(value, DECIMALS);
                    svg.text(at.0, at.1, Anchor::Middle, "small halo", &text);
                }
            }
        }
        Ok(svg)
    }

    /// The nodes: circles named inside, `lines(layer, node)` below each; bias squares.
    pub(super) fn nodes(
        &self,
        svg: &mut Svg,
        lines: impl Fn(usize, usize) -> Result<Vec<String>>,
    ) -> Result<()> {
        for l in 0..self.sizes().len() {
            for n in 0..self.sizes()[l] {
                let center = self.node_center(l, n);
                svg.circle(
                    center,
                    RADIUS,
                    "fill=\"#ffffff\" stroke=\"#111827\" stroke-width=\"1.5\"",
                );
                let name = self.node_name(l, n);
                svg.text(center.0, center.1 + 5.0, Anchor::Middle, "node", &name);
                for (k, line) in lines(l, n)?.iter().enumerate() {
                    let y = center.1 + RADIUS + 15.0 + 14.0 * k as f64;
                    svg.text(center.0, y, Anchor::Middle, "small halo", line);
                }
            }
            if let (true, Some(value)) = (self.has_bias_square(l), self.bias) {
                let center = self.bias_center(l);
                svg.rect(
                    (center.0 - BIAS_HALF, center.1 - BIAS_HALF),
                    (2.0 * BIAS_HALF, 2.0 * BIAS_HALF),
                    "fill=\"#e5e7eb\" stroke=\"#111827\" stroke-width=\"1.5\"",
                );
                let text = format!("{value:+}");
                svg.text(center.0, center.1 + 5.0, Anchor::Middle, "node", &text);
                let y = center.1 + BIAS_HALF + 15.0;
                svg.text(center.0, y, Anchor::Middle, "small", "bias");
            }
        }
        Ok(())
    }
}

/// A picture's words: a title, a line under it, captions at the bottom.
pub(super) struct Texts {
    pub(super) title: String,
    pub(super) subtitle: String,
    pub(super) captions: Vec<String>,
}

const UNLABELLED_NOTE: &str =
    "(layers with more than 64 weights show them by colour and width only)";
