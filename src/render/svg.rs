//! A minimal SVG writer for the pictures drawn by hand (the network and the loss curve):
//! elements appended to a string, coordinates with two decimals, text escaped for XML.

use std::fmt::Write;

/// `text` ready for an XML element's content or a double-quoted attribute: `&`, `<`, `>` and `"`
/// escaped (an apostrophe, as in `y'`, stays readable), control characters (which XML 1.0
/// forbids) dropped, except tab and line breaks, which become spaces.
pub(crate) fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// How a text is anchored at its point.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn name(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

/// An SVG document being written.
pub(crate) struct Svg {
    out: String,
}

impl Svg {
    /// A document of `width x height` pixels with a white background and the shared styles
    /// (`class` names used by the pictures).
    pub(crate) fn new(width: f64, height: f64) -> Svg {
        let mut out = String::new();
        let _ = write!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
             viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"Helvetica, Arial, sans-serif\">\n\
             <style>\n\
             .title {{ font-size: 16px; font-weight: bold; }}\n\
             .note {{ font-size: 12px; fill: #374151; }}\n\
             .small {{ font-size: 11px; }}\n\
             .node {{ font-size: 13px; font-weight: bold; }}\n\
             .axis {{ stroke: #111827; stroke-width: 1; }}\n\
             .grid {{ stroke: #e5e7eb; stroke-width: 1; }}\n\
             .halo {{ paint-order: stroke; stroke: white; stroke-width: 3px; stroke-linejoin: round; }}\n\
             </style>\n\
             <rect x=\"0\" y=\"0\" width=\"{width:.0}\" height=\"{height:.0}\" fill=\"white\"/>\n"
        );
        Svg { out }
    }

    /// A text at `(x, y)` (its baseline), escaped.
    pub(crate) fn text(&mut self, x: f64, y: f64, anchor: Anchor, class: &str, text: &str) {
        let _ = writeln!(
            self.out,
            "<text x=\"{x:.2}\" y=\"{y:.2}\" text-anchor=\"{}\" class=\"{class}\">{}</text>",
            anchor.name(),
            xml_escape(text)
        );
    }

    /// A text rotated by -90 degrees about `(x, y)` (an axis label read bottom to top).
    pub(crate) fn vertical_text(&mut self, x: f64, y: f64, class: &str, text: &str) {
        let _ = writeln!(
            self.out,
            "<text x=\"{x:.2}\" y=\"{y:.2}\" text-anchor=\"middle\" class=\"{class}\" \
             transform=\"rotate(-90 {x:.2} {y:.2})\">{}</text>",
            xml_escape(text)
        );
    }

    /// A line segment with extra attributes (`class`, `stroke`, ...), written as is.
    pub(crate) fn line(&mut self, from: (f64, f64), to: (f64, f64), attributes: &str) {
        let _ = writeln!(
            self.out,
            "<line x1=\"{:.2}\" y1=\"{:.2}\" x2=\"{:.2}\" y2=\"{:.2}\" {attributes}/>",
            from.0, from.1, to.0, to.1
        );
    }

    /// A circle with extra attributes.
    pub(crate) fn circle(&mut self, center: (f64, f64), radius: f64, attributes: &str) {
        let _ = writeln!(
            self.out,
            "<circle cx=\"{:.2}\" cy=\"{:.2}\" r=\"{radius:.2}\" {attributes}/>",
            center.0, center.1
        );
    }

    /// A rectangle with extra attributes.
    pub(crate) fn rect(&mut self, corner: (f64, f64), size: (f64, f64), attributes: &str) {
        let _ = writeln!(
            self.out,
            "<rect x=\"{:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{:.2}\" {attributes}/>",
            corner.0, corner.1, size.0, size.1
        );
    }

    /// A polyline through `points` with extra attributes.
    pub(crate) fn polyline(&mut self, points: &[(f64, f64)], attributes: &str) {
        let mut list = String::with_capacity(points.len() * 16);
        for (k, (x, y)) in points.iter().enumerate() {
            if k > 0 {
                list.push(' ');
            }
            let _ = write!(list, "{x:.2},{y:.2}");
        }
        let _ = writeln!(
            self.out,
            "<polyline points=\"{list}\" fill=\"none\" {attributes}/>"
        );
    }

    /// The finished document.
    pub(crate) fn finish(mut self) -> String {
        self.out.push_str("</svg>\n");
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::xml_escape;

    #[test]
    fn xml_special_characters_are_escaped() {
        assert_eq!(
            xml_escape("a<b & \"c\" > 'd'\u{7}"),
            "a&lt;b &amp; &quot;c&quot; &gt; 'd'"
        );
    }
}
