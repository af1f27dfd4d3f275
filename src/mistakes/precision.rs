//! Numbers as the user typed them, and the precision their text gives them.
//!
//! # The rule
//! A number's precision is read from its text: `0.0227` has 4 decimals, `1.5e-3` has 4
//! (1 decimal, shifted 3 places), `12` has none. It **matches** a computed value `v` when `v`
//! rounds to it at that many decimals: `|v - typed| <= 0.5 * 10^-decimals`, plus a slack of
//! `1e-12 + 1e-9 |v|` for the last bits in which two correct programs differ (summation order,
//! the `exp` of each language). A program that writes every digit (17 significant) is then
//! matched to about 9 significant digits, far below any catalogue mistake's effect on a
//! separable exercise, and far above the rounding noise of a small network in `f64`.
//!
//! A hand computation writes intermediates down rounded and goes on from the rounded figures:
//! the tutorial's `dE/dw_jk = 0.168861` is its `0.231 x 0.731`, while the exact gradient is
//! `0.168917`. So the diagnosis does not only compare with the exact values: each number is
//! also compared with its formula evaluated from rounded operands (see `diagnose.rs`), at the
//! user's [`working_digits`]: the fewest significant digits among the computed numbers given
//! (never fewer than [`MIN_WORKING_DIGITS`]).

use std::fmt;

/// The fewest significant digits a hand computation is assumed to carry (the tutorial's 3).
pub const MIN_WORKING_DIGITS: u32 = 3;
/// Above this many significant digits, rounding the operands changes nothing a typed figure
/// can show: no rounded computation is tried.
pub const MAX_WORKING_DIGITS: u32 = 9;

/// A number as typed: its value and its text's precision.
#[derive(Clone, Debug, PartialEq)]
pub struct Typed {
    /// The value.
    pub value: f64,
    /// Decimals after the point, the exponent taken into account (negative: tens, hundreds).
    pub decimals: i32,
    /// Significant digits typed (leading zeros not counted; at least 1).
    pub digits: u32,
    /// The text as typed.
    pub text: String,
}

impl Typed {
    /// Reads a number's text: `[-+]digits[.digits][e[-+]digits]`.
    ///
    /// # Errors
    /// A message quoting the text when it is not a finite decimal number (`NaN`, `inf`, words).
    pub fn parse(text: &str) -> Result<Typed, String> {
        let trimmed = text.trim();
        let bad = || format!("{trimmed:?} is not a finite decimal number");
        let body = trimmed.strip_prefix(['-', '+']).unwrap_or(trimmed);
        let (mantissa, exponent) = match body.find(['e', 'E']) {
            Some(at) => (
                &body[..at],
                body[at + 1..].parse::<i32>().map_err(|_| bad())?,
            ),
            None => (body, 0),
        };
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if whole.is_empty() && fraction.is_empty()
            || !whole
                .bytes()
                .chain(fraction.bytes())
                .all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let value: f64 = trimmed.parse().map_err(|_| bad())?;
        if !value.is_finite() {
            return Err(bad());
        }
        let all: String = whole.chars().chain(fraction.chars()).collect();
        let significant = all.trim_start_matches('0').len().max(1);
        Ok(Typed {
            value,
            decimals: (fraction.len() as i32).saturating_sub(exponent),
            digits: significant as u32,
            text: trimmed.to_string(),
        })
    }

    /// An exact value, as a program writes it (every digit of the shortest round-trip form).
    pub fn exact(value: f64) -> Typed {
        Typed::parse(&format_shortest(value)).expect("internal error: a finite f64 prints")
    }

    /// Half a unit of the last typed decimal.
    pub fn half_unit(&self) -> f64 {
        0.5 * 10f64.powi(-self.decimals)
    }

    /// Whether `value` rounds to this number at its precision (see the module's rule).
    pub fn matches(&self, value: f64) -> bool {
        let slack = 1e-12 + 1e-9 * value.abs();
        (value - self.value).abs() <= self.half_unit() + slack
    }
}

impl fmt::Display for Typed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The shortest decimal text that reads back as the same `f64`.
pub(crate) fn format_shortest(value: f64) -> String {
    let text = format!("{value:?}");
    text.strip_suffix(".0").map_or(text.clone(), str::to_string)
}

/// `value` rounded to `digits` significant digits.
pub(crate) fn round_significant(value: f64, digits: u32) -> f64 {
    if value == 0.0 || !value.is_finite() {
        return value;
    }
    let magnitude = value.abs().log10().floor() as i32;
    let scale = 10f64.powi(digits as i32 - 1 - magnitude);
    (value * scale).round() / scale
}

/// The working precision of a set of typed numbers: the fewest significant digits among them
/// (zeros left out: `0.0` shows no precision), never fewer than [`MIN_WORKING_DIGITS`]; `None`
/// when that is above [`MAX_WORKING_DIGITS`] or nothing is given.
pub fn working_digits<'a>(numbers: impl IntoIterator<Item = &'a Typed>) -> Option<u32> {
    numbers
        .into_iter()
        .filter(|n| n.value != 0.0)
        .map(|n| n.digits.max(MIN_WORKING_DIGITS))
        .min()
        .filter(|&d| d <= MAX_WORKING_DIGITS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_is_read_from_the_text() {
        let t = Typed::parse("0.0227").unwrap();
        assert_eq!((t.decimals, t.digits), (4, 3));
        let t = Typed::parse("-1.5e-3").unwrap();
        assert_eq!((t.decimals, t.digits, t.value), (4, 2, -0.0015));
        assert_eq!(Typed::parse("12").unwrap().decimals, 0);
        assert_eq!(Typed::parse("1.2E2").unwrap().decimals, -1);
        for bad in ["NaN", "inf", "", ".", "1.2.3", "abc", "1e", "0x10"] {
            assert!(Typed::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_value_matches_a_figure_it_rounds_to() {
        // sigmoid(1) * (1 - sigmoid(1)) * 0.5 * (sigmoid(1) - 0.5) = 0.022714...
        let delta_j = 0.022_714_2;
        assert!(Typed::parse("0.0227").unwrap().matches(delta_j));
        assert!(!Typed::parse("0.0228").unwrap().matches(delta_j));
        assert!(!Typed::parse("0.022710").unwrap().matches(delta_j));
        assert!(Typed::exact(delta_j).matches(delta_j));
    }

    #[test]
    fn rounding_to_significant_digits() {
        assert_eq!(round_significant(0.731_058_6, 3), 0.731);
        assert_eq!(round_significant(0.022_714, 3), 0.0227);
        assert_eq!(round_significant(-1234.5, 2), -1200.0);
    }
}
