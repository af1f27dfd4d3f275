//! The input plane of a data set of 2-D points: the features the network reads instead of the
//! raw coordinates (`x1`, `x1^2`, `sin(x1)`, ...), the held-out test points, and the pictures
//! drawn over the plane: the decision surface (the output) and every neuron's output (the
//! network's small heatmaps), each a forward pass of the engine per grid point.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::data::Dataset;
use crate::error::Result;
use crate::nn::Mlp;

/// A feature of a point `(x1, x2)` the network may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// `x1`.
    X1,
    /// `x2`.
    X2,
    /// `x1^2`.
    X1Squared,
    /// `x2^2`.
    X2Squared,
    /// `x1 * x2`.
    X1X2,
    /// `sin(x1)`.
    SinX1,
    /// `sin(x2)`.
    SinX2,
}

impl Feature {
    /// Its name as the page prints it.
    pub fn name(self) -> &'static str {
        match self {
            Feature::X1 => "x1",
            Feature::X2 => "x2",
            Feature::X1Squared => "x1^2",
            Feature::X2Squared => "x2^2",
            Feature::X1X2 => "x1*x2",
            Feature::SinX1 => "sin(x1)",
            Feature::SinX2 => "sin(x2)",
        }
    }

    /// Its value at `p`.
    pub fn of(self, [x1, x2]: [f64; 2]) -> f64 {
        match self {
            Feature::X1 => x1,
            Feature::X2 => x2,
            Feature::X1Squared => x1 * x1,
            Feature::X2Squared => x2 * x2,
            Feature::X1X2 => x1 * x2,
            Feature::SinX1 => x1.sin(),
            Feature::SinX2 => x2.sin(),
        }
    }
}

/// A value as a picture shows it: to 3 decimals (a colour has 256 levels; the page's numbers
/// come from the walk, exact), which JSON writes in a few characters.
fn picture_value(v: f64) -> f64 {
    if v.abs() < 1e12 {
        (v * 1000.0).round() / 1000.0
    } else {
        v
    }
}

/// A data set of 2-D points as the network sees it: its features, the extent drawn (the points
/// with a margin), the points themselves (training and test), the test associations.
#[derive(Clone, Debug)]
pub struct Plane {
    /// What the network's inputs are, in order.
    pub features: Vec<Feature>,
    /// The lower corner of the drawn extent.
    pub lo: [f64; 2],
    /// The upper corner.
    pub hi: [f64; 2],
    /// `[x1, x2, target]` of each training point.
    pub points: Vec<[f64; 3]>,
    /// `[x1, x2, target]` of each test point.
    pub test_points: Vec<[f64; 3]>,
    /// The test associations, in features (none if no point was held out).
    pub test: Option<Dataset>,
}

fn point_list(data: &Dataset) -> Vec<[f64; 3]> {
    data.inputs()
        .chunks(2)
        .zip(data.targets())
        .map(|(x, &t)| [x[0], x[1], t])
        .collect()
}

fn in_features(points: &[[f64; 3]], features: &[Feature]) -> Result<Dataset> {
    let inputs = points
        .iter()
        .flat_map(|p| features.iter().map(|f| f.of([p[0], p[1]])))
        .collect();
    let targets = points.iter().map(|p| p[2]).collect();
    Dataset::new(inputs, targets, features.len(), 1)
}

impl Plane {
    /// The plane of `raw` (2 inputs, 1 target), with `test_fraction` of its points held out
    /// (drawn from `seed`), read through `features`. Returns the plane and the training
    /// associations in features.
    ///
    /// # Errors
    /// [`crate::Error::InvalidOption`] for no feature, a fraction outside `[0, 0.9]`, or a
    /// split that leaves no training point.
    pub fn new(
        raw: &Dataset,
        features: Vec<Feature>,
        test_fraction: f64,
        seed: u64,
    ) -> Result<(Plane, Dataset)> {
        let invalid = |what: &str, why: String| crate::Error::InvalidOption {
            name: what.into(),
            reason: why,
        };
        if features.is_empty() {
            return Err(invalid(
                "features",
                "choose at least one input feature".into(),
            ));
        }
        if !(0.0..=0.9).contains(&test_fraction) {
            return Err(invalid(
                "test fraction",
                format!("must be from 0 to 0.9, got {test_fraction}"),
            ));
        }
        let (train, test) = raw.split(1.0 - test_fraction, seed)?;
        if train.is_empty() {
            return Err(invalid(
                "test fraction",
                "no training point is left: hold out fewer".into(),
            ));
        }
        let (points, test_points) = (point_list(&train), point_list(&test));
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for p in points.iter().chain(&test_points) {
            for d in 0..2 {
                lo[d] = lo[d].min(p[d]);
                hi[d] = hi[d].max(p[d]);
            }
        }
        for d in 0..2 {
            let margin = ((hi[d] - lo[d]) * 0.1).max(0.5);
            lo[d] -= margin;
            hi[d] += margin;
        }
        let train_data = in_features(&points, &features)?;
        let test = if test_points.is_empty() {
            None
        } else {
            Some(in_features(&test_points, &features)?)
        };
        Ok((
            Plane {
                features,
                lo,
                hi,
                points,
                test_points,
                test,
            },
            train_data,
        ))
    }

    /// The plane of a data set whose two inputs are the coordinates (no test points), or
    /// `None` if it has not 2 inputs and 1 target.
    pub fn of_data(data: &Dataset) -> Option<Plane> {
        if data.n_inputs() != 2 || data.n_targets() != 1 {
            return None;
        }
        Plane::new(data, vec![Feature::X1, Feature::X2], 0.0, 0)
            .ok()
            .map(|(plane, _)| plane)
    }

    /// The network's input at `p`.
    pub fn input(&self, p: [f64; 2]) -> Vec<f64> {
        self.features.iter().map(|f| f.of(p)).collect()
    }

    /// The `n x n` grid over the extent, row by row from the top, left to right.
    fn grid(&self, n: usize) -> impl Iterator<Item = [f64; 2]> + '_ {
        let step =
            move |d: usize, k: usize| (self.hi[d] - self.lo[d]) * k as f64 / (n.max(2) - 1) as f64;
        (0..n).flat_map(move |row| {
            (0..n).map(move |col| [self.lo[0] + step(0, col), self.hi[1] - step(1, row)])
        })
    }

    /// The output of every neuron (inputs included) over the `n x n` grid: `[layer][node]`,
    /// each `n * n` values row by row from the top, to 3 decimals. One forward pass of the network's tape per
    /// grid point, its node values read back.
    ///
    /// # Errors
    /// As [`crate::tape::Tape::forward`].
    pub fn neuron_outputs(&self, net: &Mlp, n: usize) -> Result<Vec<Vec<Vec<f64>>>> {
        let tape = net.tape();
        let mut ws = tape.workspace();
        tape.set_params(&mut ws, net.params())?;
        let sizes = net.sizes();
        let last = net.layers();
        let nodes = (0..=last)
            .map(|l| (0..sizes[l]).map(|j| net.y_node(l, j)).collect())
            .collect::<Result<Vec<Vec<_>>>>()?;
        let mut out: Vec<Vec<Vec<f64>>> = sizes
            .iter()
            .map(|&s| vec![Vec::with_capacity(n * n); s])
            .collect();
        let zeros = vec![0.0; sizes[last]];
        let mut values = Vec::with_capacity(sizes[0] + zeros.len());
        for p in self.grid(n) {
            values.clear();
            values.extend(self.input(p));
            values.extend_from_slice(&zeros);
            tape.forward(&mut ws, &values)?;
            for (layer, layer_nodes) in out.iter_mut().zip(&nodes) {
                for (cells, &node) in layer.iter_mut().zip(layer_nodes) {
                    cells.push(picture_value(tape.value(&ws, node)?));
                }
            }
        }
        Ok(out)
    }

    /// The decision surface (the first output over the `n x n` grid) and, when `heatmaps` is
    /// given, every neuron's output over a grid of that side, as the page reads them.
    ///
    /// # Errors
    /// As [`Plane::neuron_outputs`].
    pub fn pictures(&self, net: &Mlp, n: usize, heatmaps: Option<usize>) -> Result<Value> {
        let surface = self.neuron_outputs(net, n)?;
        let values = &surface[net.layers()][0];
        let heatmaps = match heatmaps {
            Some(side) => Some(json!({ "n": side, "values": self.neuron_outputs(net, side)? })),
            None => None,
        };
        Ok(json!({
            "x": [self.lo[0], self.hi[0]],
            "y": [self.lo[1], self.hi[1]],
            "n": n,
            "values": values,
            "heatmaps": heatmaps,
        }))
    }

    /// The mean error per association of the test points at the network's weights (`None`
    /// without test points), from the engine's batch gradient.
    ///
    /// # Errors
    /// As [`Mlp::gradient`].
    pub fn test_error(&self, net: &Mlp) -> Result<Option<f64>> {
        match &self.test {
            None => Ok(None),
            Some(test) => Ok(Some(
                net.gradient(test.inputs(), test.targets(), crate::nn::Reduction::Mean)?
                    .0,
            )),
        }
    }

    /// The names of the features, as the network diagram labels its inputs.
    pub fn names(&self) -> Vec<&'static str> {
        self.features.iter().map(|f| f.name()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, MlpSpec};

    #[test]
    fn features_are_their_formulas() {
        let p = [0.5, -2.0];
        let expected = [0.5, -2.0, 0.25, 4.0, -1.0, 0.5f64.sin(), (-2.0f64).sin()];
        let all = [
            Feature::X1,
            Feature::X2,
            Feature::X1Squared,
            Feature::X2Squared,
            Feature::X1X2,
            Feature::SinX1,
            Feature::SinX2,
        ];
        for (f, e) in all.iter().zip(expected) {
            assert_eq!(f.of(p), e, "{}", f.name());
        }
    }

    /// A neuron's heatmap cell is the neuron's output for the input at that grid point, as the
    /// network's own evaluation of that input gives it.
    #[test]
    fn heatmap_cells_are_the_networks_outputs_at_the_grid_points() {
        let raw = super::super::presets::circle(40, 0.0, 1);
        let features = vec![Feature::X1, Feature::X1X2, Feature::SinX2];
        let (plane, train) = Plane::new(&raw, features, 0.25, 2).unwrap();
        assert_eq!((train.len(), plane.test_points.len()), (30, 10));
        let net = MlpSpec::new(&[3, 4, 1], Activation::Tanh, Activation::Sigmoid)
            .with_init(crate::nn::Init::Uniform {
                low: -1.0,
                high: 1.0,
            })
            .build()
            .unwrap();
        let n = 5;
        let maps = plane.neuron_outputs(&net, n).unwrap();
        // the cell of row 1, column 3
        let p = [
            plane.lo[0] + (plane.hi[0] - plane.lo[0]) * 3.0 / 4.0,
            plane.hi[1] - (plane.hi[1] - plane.lo[1]) / 4.0,
        ];
        let eval = net.evaluate(&plane.input(p), &[0.0]).unwrap();
        for (l, layer) in maps.iter().enumerate() {
            for (j, cells) in layer.iter().enumerate() {
                let cell = cells[n + 3];
                let y = eval.y(l, j).unwrap();
                // to 3 decimals
                assert!((cell - y).abs() <= 5e-4 + 1e-15, "{l} {j}: {cell} vs {y}");
            }
        }
        assert_eq!(maps.len(), 3);
        assert_eq!(plane.input(p)[1], p[0] * p[1]);
    }
}
