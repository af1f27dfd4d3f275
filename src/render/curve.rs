//! The loss curve of a training run: error per epoch, drawn directly as SVG with axes, ticks and
//! labels, on a log10 scale when the errors span more than two decades.

use crate::render::labels::number;
use crate::render::svg::{Anchor, Svg};

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 400.0;
/// The plot area.
const LEFT: f64 = 80.0;
const RIGHT: f64 = WIDTH - 24.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = HEIGHT - 60.0;
/// The errors must span more than this ratio (two decades) for a log scale.
const LOG_RATIO: f64 = 100.0;

/// The SVG of a loss curve: `errors[e]` is the error after epoch `e + 1`, drawn as one polyline
/// with one point per epoch, under `title`.
///
/// The y axis is linear (from 0 when no error is negative) unless the finite errors are all
/// non-negative and the largest is more than 100 times the smallest positive one: then it is
/// log10, with a tick per decade, and errors of exactly 0 are drawn on the bottom of the axis
/// (a note says so). Non-finite errors (NaN, infinity) are left out: the line is broken there
/// and a note counts them. Both axes have "nice" ticks (1, 2 or 5 times a power of ten) and
/// labels. No errors at all give a valid SVG with the title and "no data"; no finite error
/// gives one with "no finite data".
///
/// # Complexity
/// O(epochs).
///
/// # Examples
/// ```
/// let svg = backprop::render::loss_curve_svg(&[1.0, 0.1, 0.01, 0.001], "XOR");
/// assert!(svg.contains("log scale"));
/// assert!(backprop::render::loss_curve_svg(&[], "XOR").contains("no data"));
/// ```
pub fn loss_curve_svg(errors: &[f64], title: &str) -> String {
    curves_svg(&[("", errors)], title)
}

/// The colours of the curves, in order (then repeated).
const COLOURS: [&str; 4] = ["#2563eb", "#dc2626", "#16a34a", "#9333ea"];

/// Several error curves on the same axes, as [`loss_curve_svg`] draws one: `curves` are
/// `(name, errors per epoch)`, drawn in blue, red, green, purple, with a legend naming them
/// (the training error and the held-out error of one run, for instance). The axes cover every
/// curve's finite errors; the note gives each curve's last one.
///
/// # Examples
/// ```
/// let svg = backprop::render::loss_curves_svg(
///     &[("training", &[1.0, 0.5][..]), ("held-out", &[1.2, 0.7][..])],
///     "mean error per association",
/// );
/// assert!(svg.contains("held-out"));
/// ```
pub fn loss_curves_svg(curves: &[(&str, &[f64])], title: &str) -> String {
    curves_svg(curves, title)
}

fn curves_svg(curves: &[(&str, &[f64])], title: &str) -> String {
    let mut svg = Svg::new(WIDTH, HEIGHT);
    svg.text(WIDTH / 2.0, 28.0, Anchor::Middle, "title", title);
    let all: Vec<f64> = curves.iter().flat_map(|(_, e)| e.iter().copied()).collect();
    let errors = &all[..];
    let finite: Vec<f64> = errors.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        svg.rect(
            (LEFT, TOP),
            (RIGHT - LEFT, BOTTOM - TOP),
            "fill=\"none\" class=\"axis\"",
        );
        let message = if errors.is_empty() {
            "no data"
        } else {
            "no finite data"
        };
        let center = ((LEFT + RIGHT) / 2.0, (TOP + BOTTOM) / 2.0);
        svg.text(center.0, center.1, Anchor::Middle, "note", message);
        return svg.finish();
    }
    let scale = Scale::for_errors(&finite);
    let epochs = curves.iter().map(|(_, e)| e.len()).max().unwrap_or(0);
    let x_of = |epoch: usize| -> f64 {
        if epochs == 1 {
            (LEFT + RIGHT) / 2.0
        } else {
            LEFT + (RIGHT - LEFT) * (epoch - 1) as f64 / (epochs - 1) as f64
        }
    };
    let y_of = |t: f64| BOTTOM - (BOTTOM - TOP) * t.clamp(0.0, 1.0);

    // grid, ticks and labels
    for (value, label) in scale.ticks() {
        let y = y_of(scale.position(value));
        svg.line((LEFT, y), (RIGHT, y), "class=\"grid\"");
        svg.line((LEFT - 5.0, y), (LEFT, y), "class=\"axis\"");
        svg.text(LEFT - 8.0, y + 4.0, Anchor::End, "small", &label);
    }
    for epoch in epoch_ticks(epochs) {
        let x = x_of(epoch);
        svg.line((x, BOTTOM), (x, BOTTOM + 5.0), "class=\"axis\"");
        svg.text(
            x,
            BOTTOM + 18.0,
            Anchor::Middle,
            "small",
            &epoch.to_string(),
        );
    }
    svg.line((LEFT, TOP), (LEFT, BOTTOM), "class=\"axis\"");
    svg.line((LEFT, BOTTOM), (RIGHT, BOTTOM), "class=\"axis\"");
    svg.text(
        (LEFT + RIGHT) / 2.0,
        HEIGHT - 22.0,
        Anchor::Middle,
        "note",
        "epoch",
    );
    let y_label = match scale {
        Scale::Log { .. } => "error (log scale)",
        Scale::Linear { .. } => "error",
    };
    svg.vertical_text(22.0, (TOP + BOTTOM) / 2.0, "note", y_label);

    // each curve: one polyline per run of finite errors
    for (c, (name, errors)) in curves.iter().enumerate() {
        let colour = COLOURS[c % COLOURS.len()];
        let mut run: Vec<(f64, f64)> = Vec::new();
        let mut runs = Vec::new();
        for (k, &error) in errors.iter().enumerate() {
            if error.is_finite() {
                run.push((x_of(k + 1), y_of(scale.position(error))));
            } else if !run.is_empty() {
                runs.push(std::mem::take(&mut run));
            }
        }
        if !run.is_empty() {
            runs.push(run);
        }
        for run in &runs {
            svg.polyline(
                run,
                &format!(
                    "class=\"curve\" stroke=\"{colour}\" stroke-width=\"2\" stroke-linejoin=\"round\""
                ),
            );
            if let [only] = run.as_slice() {
                svg.circle(*only, 3.0, &format!("fill=\"{colour}\""));
            }
        }
        if curves.len() > 1 {
            // the legend, top left inside the plot
            let y = TOP + 16.0 + 16.0 * c as f64;
            svg.line(
                (LEFT + 10.0, y - 4.0),
                (LEFT + 30.0, y - 4.0),
                &format!("stroke=\"{colour}\" stroke-width=\"2\""),
            );
            svg.text(LEFT + 36.0, y, Anchor::Start, "small", name);
        }
    }

    // notes
    let mut notes = Vec::new();
    let skipped = errors.len() - finite.len();
    if skipped > 0 {
        notes.push(format!("{skipped} non-finite errors not drawn"));
    }
    if matches!(scale, Scale::Log { .. }) && finite.contains(&0.0) {
        notes.push("errors of 0 drawn on the bottom axis".into());
    }
    for (name, errors) in curves {
        if let Some(&last) = errors.iter().rev().find(|v| v.is_finite()) {
            notes.push(if name.is_empty() {
                format!("last: {}", number(last, 6))
            } else {
                format!("{name}, last: {}", number(last, 6))
            });
        }
    }
    svg.text(RIGHT, TOP - 8.0, Anchor::End, "small", &notes.join("; "));
    svg.finish()
}

/// How errors map to heights.
#[derive(Clone, Copy, Debug)]
enum Scale {
    /// `lo..hi`, linear.
    Linear { lo: f64, hi: f64 },
    /// Decades `10^lo..10^hi`, log10.
    Log { lo: i32, hi: i32 },
}

impl Scale {
    fn for_errors(finite: &[f64]) -> Scale {
        let min = finite.iter().copied().fold(f64::INFINITY, f64::min);
        let max = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let smallest_positive = finite
            .iter()
            .copied()
            .filter(|&v| v > 0.0)
            .fold(f64::INFINITY, f64::min);
        if min >= 0.0 && smallest_positive.is_finite() && max / smallest_positive > LOG_RATIO {
            return Scale::Log {
                lo: smallest_positive.log10().floor() as i32,
                hi: max.log10().ceil() as i32,
            };
        }
        let lo = if min >= 0.0 { 0.0 } else { min };
        let hi = max;
        if hi > lo {
            return Scale::Linear { lo, hi };
        }
        // one value (or all equal): a band around it
        let pad = if hi == 0.0 { 1.0 } else { hi.abs() / 10.0 };
        Scale::Linear {
            lo: lo - pad,
            hi: hi + pad,
        }
    }

    /// Where `value` sits between the bottom (0) and the top (1) of the axis; values below the
    /// axis (0 on a log scale) sit at the bottom.
    fn position(self, value: f64) -> f64 {
        match self {
            // halves avoid overflowing `hi - lo` near the largest f64
            Scale::Linear { lo, hi } => (value / 2.0 - lo / 2.0) / (hi / 2.0 - lo / 2.0),
            Scale::Log { lo, hi } => {
                if value <= 0.0 {
                    0.0
                } else {
                    (value.log10() - f64::from(lo)) / f64::from(hi - lo).max(1.0)
                }
            }
        }
    }

    /// The ticks, with their labels.
    fn ticks(self) -> Vec<(f64, String)> {
        match self {
            Scale::Linear { lo, hi } => {
                let range = hi - lo;
                if !range.is_finite() || range <= 0.0 {
                    return Vec::new();
                }
                let step = nice_step(range / 5.0);
                let decimals = (-step.log10().floor()).clamp(0.0, 12.0) as usize;
                let first = (lo / step).ceil();
                let last = (hi / step).floor();
                if !(last - first).is_finite() || last - first > 50.0 {
                    return Vec::new();
                }
                (0..=(last - first) as usize)
                    .map(|k| {
                        let value = (first + k as f64) * step;
                        (value, number(value, decimals))
                    })
                    .collect()
            }
            Scale::Log { lo, hi } => {
                let every = ((hi - lo) as usize).div_ceil(8).max(1);
                (lo..=hi)
                    .step_by(every)
                    .map(|d| (10f64.powi(d), format!("1e{d}")))
                    .collect()
            }
        }
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.log10().floor());
    let normalised = raw / magnitude;
    let factor = if normalised <= 1.0 {
        1.0
    } else if normalised <= 2.0 {
        2.0
    } else if normalised <= 5.0 {
        5.0
    } else {
        10.0
    };
    factor * magnitude
}

/// Epoch ticks: the first epoch and multiples of a nice step, about 8 in all.
fn epoch_ticks(epochs: usize) -> Vec<usize> {
    if epochs <= 1 {
        return vec![1];
    }
    let step = (nice_step(epochs as f64 / 8.0) as usize).max(1);
    let mut ticks = vec![1];
    ticks.extend((step..=epochs).step_by(step).filter(|&e| e > 1));
    ticks
}
