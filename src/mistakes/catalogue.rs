//! The catalogue: each classic mistake's stable id, its one-line name, and the formula it uses
//! instead of the right one. How each one computes is in `step.rs`.

use std::fmt;

/// A classic mistake in a hand-written backpropagation, each an alternative step of the
/// tutorial's training step (forward, deltas, gradients, update).
///
/// Its [`id`](Mistake::id) is stable (kebab-case, for files and tools); [`name`](Mistake::name)
/// says it in a line; [`wrong`](Mistake::wrong) and [`right`](Mistake::right) are the formula
/// used and the one that belongs, in the tutorial's notation (`x` net input, `y` output, `y'`
/// target, `delta = dE/dx`, `w_jk` from node `j` to node `k`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mistake {
    /// `f'(y_j)` where `f'(x_j)` belongs.
    DerivativeOfOutput,
    /// The derivative written for the output (`y(1 - y)`, `1 - y^2`) fed the net input.
    OutputFormOnNetInput,
    /// No `f'(x_j)` in a hidden delta.
    MissingDerivativeHidden,
    /// No `f'(x_k)` in an output delta, with a non-identity output activation.
    MissingDerivativeOutput,
    /// `y' - y` for `y - y'`.
    SignFlipped,
    /// The derivative of `sum (y - y')^2`, without the 1/2, where the half squared error is
    /// asked.
    FactorTwo,
    /// The gradient of the mean where the sum was asked, or of the sum where the mean was.
    MeanVsSum,
    /// `delta_j = f'(x_j) sum_k delta_k`: the weights left out of the back-propagated sum.
    WeightsForgotten,
    /// `w_kj` for `w_jk` in the back-propagated sum (square layers).
    TransposedWeights,
    /// `dE/dw_ij = delta_j y_j`: the node's own output for the input's.
    OwnOutputInGradient,
    /// A layer's weights updated before the deltas below it were computed through them.
    UpdatedWeightsInBackward,
    /// `dE/db_j = delta_j` whatever the bias node's value.
    BiasValueIgnored,
    /// The weight change `-eta dE/dw` (or `eta dE/dw`) reported as the gradient.
    LearningRateInGradient,
    /// Softmax's derivative applied again after cross-entropy's `p - y'`.
    SoftmaxDerivativeTwice,
    /// The hidden activation applied to the input layer too.
    InputActivation,
}

impl Mistake {
    /// Every mistake of the catalogue, in the order of the computation they spoil.
    pub const ALL: [Mistake; 15] = [
        Mistake::InputActivation,
        Mistake::SignFlipped,
        Mistake::FactorTwo,
        Mistake::SoftmaxDerivativeTwice,
        Mistake::MissingDerivativeOutput,
        Mistake::DerivativeOfOutput,
        Mistake::OutputFormOnNetInput,
        Mistake::MissingDerivativeHidden,
        Mistake::WeightsForgotten,
        Mistake::TransposedWeights,
        Mistake::UpdatedWeightsInBackward,
        Mistake::MeanVsSum,
        Mistake::OwnOutputInGradient,
        Mistake::BiasValueIgnored,
        Mistake::LearningRateInGradient,
    ];

    /// The stable id (kebab-case), as in answers files, `check --format json` and reports.
    pub fn id(self) -> &'static str {
        match self {
            Mistake::DerivativeOfOutput => "derivative-of-output",
            Mistake::OutputFormOnNetInput => "output-form-on-net-input",
            Mistake::MissingDerivativeHidden => "missing-derivative-hidden",
            Mistake::MissingDerivativeOutput => "missing-derivative-output",
            Mistake::SignFlipped => "sign-flipped",
            Mistake::FactorTwo => "factor-two",
            Mistake::MeanVsSum => "mean-vs-sum",
            Mistake::WeightsForgotten => "weights-forgotten",
            Mistake::TransposedWeights => "transposed-weights",
            Mistake::OwnOutputInGradient => "own-output-in-gradient",
            Mistake::UpdatedWeightsInBackward => "updated-weights-in-backward",
            Mistake::BiasValueIgnored => "bias-value-ignored",
            Mistake::LearningRateInGradient => "learning-rate-in-gradient",
            Mistake::SoftmaxDerivativeTwice => "softmax-derivative-twice",
            Mistake::InputActivation => "input-activation",
        }
    }

    /// The mistake of an id given by [`Mistake::id`].
    pub fn from_id(id: &str) -> Option<Mistake> {
        Mistake::ALL.into_iter().find(|m| m.id() == id)
    }

    /// The mistake in one line.
    pub fn name(self) -> &'static str {
        match self {
            Mistake::DerivativeOfOutput => "the activation's derivative taken at the output y",
            Mistake::OutputFormOnNetInput => {
                "the derivative's output form (y(1-y), 1-y^2) fed the net input x"
            }
            Mistake::MissingDerivativeHidden => "no f'(x_j) in the hidden deltas",
            Mistake::MissingDerivativeOutput => {
                "no f'(x_k) in the output deltas of a non-identity output"
            }
            Mistake::SignFlipped => "the output error's sign flipped",
            Mistake::FactorTwo => "the squared error differentiated without its 1/2",
            Mistake::MeanVsSum => {
                "the gradient of the mean where the sum was asked, or the reverse"
            }
            Mistake::WeightsForgotten => "the weights left out of the back-propagated sum",
            Mistake::TransposedWeights => "the weight matrix transposed in the backward pass",
            Mistake::OwnOutputInGradient => "a weight's gradient from the wrong end's output",
            Mistake::UpdatedWeightsInBackward => {
                "a layer's weights updated before the deltas below were computed through them"
            }
            Mistake::BiasValueIgnored => "the bias weight's gradient without the bias value",
            Mistake::LearningRateInGradient => "the weight change reported as the gradient",
            Mistake::SoftmaxDerivativeTwice => "softmax's derivative applied twice",
            Mistake::InputActivation => "the activation applied to the input layer too",
        }
    }

    /// The formula the mistake uses.
    pub fn wrong(self) -> &'static str {
        match self {
            Mistake::DerivativeOfOutput => "f'(y_j), e.g. sigmoid'(y) = s(y) (1 - s(y))",
            Mistake::OutputFormOnNetInput => "x_j (1 - x_j) for sigmoid, 1 - x_j^2 for tanh",
            Mistake::MissingDerivativeHidden => "delta_j = sum_k delta_k w_jk",
            Mistake::MissingDerivativeOutput => "delta_k = y_k - y'_k",
            Mistake::SignFlipped => "dE/dy_k = y'_k - y_k",
            Mistake::FactorTwo => "dE/dy_k = 2 (y_k - y'_k)",
            Mistake::MeanVsSum => {
                "dE/dw = 1/T sum_t or 1/(T K) sum_t sum_k (sum asked); sum_t (mean asked)"
            }
            Mistake::WeightsForgotten => "delta_j = f'(x_j) sum_k delta_k",
            Mistake::TransposedWeights => "delta_j = f'(x_j) sum_k delta_k w_kj",
            Mistake::OwnOutputInGradient => "dE/dw_ij = delta_j y_j",
            Mistake::UpdatedWeightsInBackward => {
                "delta_j = f'(x_j) sum_k delta_k (w_jk - eta dE/dw_jk)"
            }
            Mistake::BiasValueIgnored => "dE/db_j = delta_j",
            Mistake::LearningRateInGradient => "dE/dw reported as -eta dE/dw (or eta dE/dw)",
            Mistake::SoftmaxDerivativeTwice => "delta_k = (p_k - y'_k) p_k (1 - p_k)",
            Mistake::InputActivation => "y_i = f(x_i)",
        }
    }

    /// The formula that belongs where the mistake's is.
    pub fn right(self) -> &'static str {
        match self {
            Mistake::DerivativeOfOutput => "f'(x_j), e.g. sigmoid'(x) = y (1 - y)",
            Mistake::OutputFormOnNetInput => "y_j (1 - y_j) for sigmoid, 1 - y_j^2 for tanh",
            Mistake::MissingDerivativeHidden => "delta_j = f'(x_j) sum_k delta_k w_jk",
            Mistake::MissingDerivativeOutput => "delta_k = (y_k - y'_k) f'(x_k)",
            Mistake::SignFlipped => "dE/dy_k = y_k - y'_k",
            Mistake::FactorTwo => "dE/dy_k = y_k - y'_k (E = 1/2 sum (y - y')^2)",
            Mistake::MeanVsSum => "dE/dw = sum_t (sum asked); 1/T sum_t (mean asked)",
            Mistake::WeightsForgotten => "delta_j = f'(x_j) sum_k delta_k w_jk",
            Mistake::TransposedWeights => "delta_j = f'(x_j) sum_k delta_k w_jk",
            Mistake::OwnOutputInGradient => "dE/dw_ij = delta_j y_i",
            Mistake::UpdatedWeightsInBackward => "delta_j = f'(x_j) sum_k delta_k w_jk",
            Mistake::BiasValueIgnored => "dE/db_j = delta_j * bias",
            Mistake::LearningRateInGradient => "dE/dw = sum_t delta_j y_i",
            Mistake::SoftmaxDerivativeTwice => "delta_k = p_k - y'_k",
            Mistake::InputActivation => "y_i = x_i (identity input)",
        }
    }

    /// Whether the two cannot be made at once (they replace the same formula).
    pub(crate) fn conflicts(self, other: Mistake) -> bool {
        use Mistake::{DerivativeOfOutput, OutputFormOnNetInput};
        matches!(
            (self, other),
            (DerivativeOfOutput, OutputFormOnNetInput) | (OutputFormOnNetInput, DerivativeOfOutput)
        ) || self == other
    }
}

impl fmt::Display for Mistake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One way of making a mistake: most have one, a few have two (the sign of the learning rate
/// reported as the gradient, which mean was taken). The computation branches on slips.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Slip {
    /// The only way of making `mistake`.
    Only(Mistake),
    /// `-eta dE/dw` reported as the gradient.
    LearningRateNegative,
    /// `eta dE/dw` reported as the gradient.
    LearningRatePositive,
    /// `1/T` where the sum was asked (mean over associations).
    MeanOverAssociations,
    /// `1/(T K)` where the sum was asked (the mean of every output of every association, as
    /// `np.mean` takes it).
    MeanOverEverything,
    /// `1` where the mean `1/T` was asked.
    SumForMean,
}

impl Slip {
    /// The mistake this slip is a way of making.
    pub(crate) fn mistake(self) -> Mistake {
        match self {
            Slip::Only(m) => m,
            Slip::LearningRateNegative | Slip::LearningRatePositive => {
                Mistake::LearningRateInGradient
            }
            Slip::MeanOverAssociations | Slip::MeanOverEverything | Slip::SumForMean => {
                Mistake::MeanVsSum
            }
        }
    }

    /// Every slip (for a reduction of `mean`, [`Slip::SumForMean`] stands for `mean-vs-sum`;
    /// for `sum`, the two means).
    pub(crate) fn all(mean_asked: bool) -> Vec<Slip> {
        let mut slips = Vec::new();
        for m in Mistake::ALL {
            match m {
                Mistake::LearningRateInGradient => {
                    slips.extend([Slip::LearningRateNegative, Slip::LearningRatePositive]);
                }
                Mistake::MeanVsSum if mean_asked => slips.push(Slip::SumForMean),
                Mistake::MeanVsSum => {
                    slips.extend([Slip::MeanOverAssociations, Slip::MeanOverEverything]);
                }
                other => slips.push(Slip::Only(other)),
            }
        }
        slips
    }
}
