//! Hand-written SVG bar charts for the report (no dependency, readable in any browser and on
//! code hosts that render Markdown).

use std::fmt::Write as _;

const WIDTH: f64 = 760.0;
const LABEL_WIDTH: f64 = 250.0;
const BAR_HEIGHT: f64 = 18.0;
const GAP: f64 = 6.0;
const TOP: f64 = 44.0;
const COLORS: [&str; 3] = ["#4e79a7", "#f28e2b", "#59a14f"];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn header(out: &mut String, title: &str, rows: usize, legend: &[&str]) {
    let height = TOP + rows as f64 * (BAR_HEIGHT + GAP) + 16.0;
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(
        out,
        r#"<rect width="100%" height="100%" fill="white"/><text x="8" y="18" font-size="14" font-weight="bold">{}</text>"#,
        escape(title)
    );
    let mut x = LABEL_WIDTH;
    for (i, name) in legend.iter().enumerate() {
        let _ = write!(
            out,
            r#"<rect x="{x}" y="26" width="10" height="10" fill="{}"/><text x="{}" y="35">{}</text>"#,
            COLORS[i % COLORS.len()],
            x + 14.0,
            escape(name)
        );
        x += 20.0 + 7.0 * name.len() as f64;
    }
}

/// Horizontal bars whose segments are stacked: `series` names the segments, each row gives
/// its label and one value per segment (missing values draw nothing).
pub fn stacked_bars(
    title: &str,
    unit: &str,
    series: &[&str],
    rows: &[(String, Vec<f64>)],
) -> String {
    let mut out = String::new();
    header(
        &mut out,
        title,
        rows.len(),
        if series.len() > 1 { series } else { &[] },
    );
    let max = rows
        .iter()
        .map(|(_, values)| values.iter().sum::<f64>())
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let scale = (WIDTH - LABEL_WIDTH - 90.0) / max;
    for (i, (label, values)) in rows.iter().enumerate() {
        let y = TOP + i as f64 * (BAR_HEIGHT + GAP);
        let _ = write!(
            out,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            LABEL_WIDTH - 6.0,
            y + BAR_HEIGHT - 5.0,
            escape(label)
        );
        let mut x = LABEL_WIDTH;
        for (j, value) in values.iter().enumerate() {
            let w = value.max(0.0) * scale;
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{BAR_HEIGHT}" fill="{}"/>"#,
                COLORS[j % COLORS.len()]
            );
            x += w;
        }
        let total: f64 = values.iter().sum();
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{}">{} {}</text>"#,
            x + 4.0,
            y + BAR_HEIGHT - 5.0,
            thousands(total),
            escape(unit)
        );
    }
    out.push_str("</svg>\n");
    out
}

/// `12345.6` as `12,346`.
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_is_wellformed_and_escaped() {
        let svg = stacked_bars(
            "CPU <per> request",
            "µs",
            &["server", "plugin"],
            &[("a & b".into(), vec![10.0, 5.0]), ("c".into(), vec![1.0])],
        );
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("a &amp; b") && svg.contains("CPU &lt;per&gt; request"));
        assert_eq!(svg.matches("<rect").count(), 1 + 2 + 3);
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(12.0), "12");
    }
}
