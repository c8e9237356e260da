//! Charts drawn on the server as inline SVG, with their figures written beside the marks as
//! text: no script, no external asset, and the same input always gives the same bytes. Every
//! coordinate is an integer.

use super::html::Html;

const WIDTH: u64 = 720;
const HEIGHT: u64 = 260;
const LEFT: u64 = 48;
const RIGHT: u64 = 16;
const TOP: u64 = 22;
const BOTTOM: u64 = 30;

/// Colours of successive series, dark enough for text on white and for print.
const PALETTE: [&str; 4] = ["#a61b1b", "#1f5fa8", "#2e7d32", "#6a3d9a"];

/// One line of a line chart: a value per month, a gap where there is none.
pub struct Series<'a> {
    /// What the line is, shown in the legend.
    pub label: &'a str,
    /// January to December.
    pub values: &'a [Option<u32>; 12],
}

/// A reference line across a chart: a threshold, a minimum.
pub struct Rule<'a> {
    /// Where it is.
    pub value: u64,
    /// What it is, written at its end.
    pub label: &'a str,
}

/// The least "round" number (1, 2 or 5 × 10ⁿ steps, 5 at most) at or above `value`, and its
/// step.
fn scale(value: u64) -> (u64, u64) {
    let value = value.max(1);
    let mut magnitude = 1u64;
    loop {
        for step in [magnitude, magnitude.saturating_mul(2), magnitude.saturating_mul(5)] {
            if step.saturating_mul(5) >= value {
                return (value.div_ceil(step).saturating_mul(step), step);
            }
        }
        magnitude = magnitude.saturating_mul(10);
    }
}

fn plot_width() -> u64 {
    WIDTH - LEFT - RIGHT
}

fn plot_height() -> u64 {
    HEIGHT - TOP - BOTTOM
}

/// The x of the middle of month `m` (0-based).
fn month_x(m: usize) -> u64 {
    LEFT + (2 * m as u64 + 1) * plot_width() / 24
}

fn y_of(value: u64, max: u64) -> u64 {
    let height = u128::from(value.min(max)) * u128::from(plot_height()) / u128::from(max.max(1));
    TOP + plot_height() - height as u64
}

fn frame(svg: &mut Html, kind: &'static str, title: &str, max: u64, step: u64, months: &[&str; 12]) {
    svg.open(
        "svg",
        &[
            ("xmlns", "http://www.w3.org/2000/svg"),
            ("viewBox", &format!("0 0 {WIDTH} {HEIGHT}")),
            ("class", "chart"),
            ("role", "img"),
            ("data-chart", kind),
            ("aria-label", title),
        ],
    );
    svg.elem("title", &[], title);
    let mut tick = 0;
    while tick <= max {
        let y = y_of(tick, max).to_string();
        let stroke = if tick == 0 { "#444" } else { "#ddd" };
        let x2 = (WIDTH - RIGHT).to_string();
        svg.open("line", &[("x1", &LEFT.to_string()), ("y1", &y), ("x2", &x2), ("y2", &y), ("stroke", stroke)])
            .close("line");
        let label_y = (y_of(tick, max) + 4).to_string();
        let label_x = (LEFT - 6).to_string();
        svg.elem(
            "text",
            &[("x", &label_x), ("y", &label_y), ("text-anchor", "end"), ("class", "axis")],
            &tick.to_string(),
        );
        match tick.checked_add(step) {
            Some(next) => tick = next,
            None => break,
        }
    }
    for (m, name) in months.iter().enumerate() {
        let (x, y) = (month_x(m).to_string(), (HEIGHT - 10).to_string());
        svg.elem("text", &[("x", &x), ("y", &y), ("text-anchor", "middle"), ("class", "axis")], name);
    }
}

fn rule(svg: &mut Html, rule: &Rule<'_>, max: u64) {
    let y = y_of(rule.value, max).to_string();
    let x2 = (WIDTH - RIGHT).to_string();
    svg.open(
        "line",
        &[
            ("x1", &LEFT.to_string()),
            ("y1", &y),
            ("x2", &x2),
            ("y2", &y),
            ("stroke", "#7a5c00"),
            ("stroke-dasharray", "6 4"),
            ("data-rule", &rule.value.to_string()),
        ],
    )
    .close("line");
    let label_y = (y_of(rule.value, max).saturating_sub(4)).to_string();
    svg.elem(
        "text",
        &[("x", &x2), ("y", &label_y), ("text-anchor", "end"), ("class", "rule")],
        &format!("{} {}", rule.label, rule.value),
    );
}

/// A line per series over the twelve months, each value labelled, with an optional reference
/// line (a certification threshold).
pub fn lines(title: &str, months: &[&str; 12], series: &[Series<'_>], reference: Option<Rule<'_>>) -> Html {
    let highest = series.iter().flat_map(|s| s.values.iter().flatten()).map(|v| u64::from(*v)).max().unwrap_or(0);
    let (max, step) = scale(highest.max(reference.as_ref().map_or(0, |r| r.value)).max(10));
    let mut svg = Html::new();
    frame(&mut svg, "lines", title, max, step, months);
    if let Some(r) = &reference {
        rule(&mut svg, r, max);
    }
    for (i, s) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        // Consecutive months with a value are joined; a month without one breaks the line.
        let mut run: Vec<String> = Vec::new();
        let mut runs: Vec<Vec<String>> = Vec::new();
        for (m, value) in s.values.iter().enumerate() {
            match value {
                Some(v) => run.push(format!("{},{}", month_x(m), y_of(u64::from(*v), max))),
                None if !run.is_empty() => runs.push(std::mem::take(&mut run)),
                None => {}
            }
        }
        runs.push(run);
        for run in runs.iter().filter(|r| r.len() > 1) {
            svg.open(
                "polyline",
                &[("points", &run.join(" ")), ("fill", "none"), ("stroke", colour), ("stroke-width", "2")],
            )
            .close("polyline");
        }
        for (m, value) in s.values.iter().enumerate() {
            let Some(v) = value else { continue };
            let (x, y) = (month_x(m), y_of(u64::from(*v), max));
            svg.open(
                "circle",
                &[
                    ("cx", &x.to_string()),
                    ("cy", &y.to_string()),
                    ("r", "4"),
                    ("fill", colour),
                    ("data-month", &(m + 1).to_string()),
                    ("data-value", &v.to_string()),
                ],
            );
            svg.elem("title", &[], &format!("{} {}: {v}", s.label, months[m]));
            svg.close("circle");
            let label_y = y.saturating_sub(8).to_string();
            svg.elem(
                "text",
                &[("x", &x.to_string()), ("y", &label_y), ("text-anchor", "middle"), ("class", "value")],
                &v.to_string(),
            );
        }
        let legend_x = (LEFT + 8 + 200 * i as u64).to_string();
        svg.open("rect", &[("x", &legend_x), ("y", "4"), ("width", "12"), ("height", "12"), ("fill", colour)])
            .close("rect");
        let text_x = (LEFT + 24 + 200 * i as u64).to_string();
        svg.elem("text", &[("x", &text_x), ("y", "14"), ("class", "legend")], s.label);
    }
    svg.close("svg");
    svg
}

/// A bar per month, each labelled with its value, against a reference line (a monthly
/// minimum): bars under it are drawn in the warning colour.
pub fn bars(title: &str, months: &[&str; 12], values: &[u64; 12], minimum: Option<Rule<'_>>) -> Html {
    let highest = values.iter().copied().max().unwrap_or(0).max(minimum.as_ref().map_or(0, |r| r.value));
    let (max, step) = scale(highest.saturating_add(highest / 8));
    let mut svg = Html::new();
    frame(&mut svg, "bars", title, max, step, months);
    let slot = plot_width() / 12;
    let width = slot * 3 / 5;
    for (m, value) in values.iter().enumerate() {
        let under = minimum.as_ref().is_some_and(|r| *value < r.value);
        let colour = if under { "#c77700" } else { "#1f5fa8" };
        let (top, bottom) = (y_of(*value, max), y_of(0, max));
        let x = month_x(m) - width / 2;
        svg.open(
            "rect",
            &[
                ("x", &x.to_string()),
                ("y", &top.to_string()),
                ("width", &width.to_string()),
                ("height", &(bottom - top).to_string()),
                ("fill", colour),
                ("data-month", &(m + 1).to_string()),
                ("data-value", &value.to_string()),
            ],
        );
        svg.elem("title", &[], &format!("{}: {value}", months[m]));
        svg.close("rect");
        let label_y = top.saturating_sub(4).to_string();
        svg.elem(
            "text",
            &[("x", &month_x(m).to_string()), ("y", &label_y), ("text-anchor", "middle"), ("class", "value")],
            &value.to_string(),
        );
    }
    if let Some(r) = &minimum {
        rule(&mut svg, r, max);
    }
    svg.close("svg");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    const MONTHS: [&str; 12] = ["T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12"];

    #[test]
    fn scales_are_round() {
        assert_eq!(scale(0), (1, 1));
        assert_eq!(scale(10), (10, 2));
        assert_eq!(scale(93), (100, 20));
        assert_eq!(scale(100), (100, 20));
        assert_eq!(scale(101), (150, 50));
        assert_eq!(scale(1234), (1500, 500));
        // Figures no log could hold still draw, without overflow.
        assert!(scale(u64::MAX).0 >= u64::MAX / 2);
        assert!(y_of(u64::MAX, u64::MAX) == TOP);
        let huge = bars("x", &MONTHS, &[u64::MAX; 12], None);
        assert_eq!(huge.as_str().matches("data-month=").count(), 12);
    }

    #[test]
    fn a_line_chart_labels_every_value_and_breaks_at_gaps() {
        let values = [Some(76), Some(80), None, Some(85), Some(88), Some(91), None, None, None, None, None, None];
        let svg = lines(
            "Điểm <chỉ tiêu>",
            &MONTHS,
            &[Series { label: "kieu-mau", values: &values }],
            Some(Rule { value: 90, label: "Ngưỡng" }),
        );
        let svg = svg.as_str();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{svg}");
        assert!(svg.contains("<title>Điểm &lt;chỉ tiêu&gt;</title>"), "titles are escaped");
        for v in [76, 80, 85, 88, 91] {
            assert!(svg.contains(&format!("data-value=\"{v}\"")), "{v} is drawn");
            assert!(svg.contains(&format!(">{v}</text>")), "{v} is labelled");
        }
        assert_eq!(svg.matches("<polyline").count(), 2, "two runs: Jan-Feb and Apr-Jun");
        assert!(svg.contains("data-rule=\"90\"") && svg.contains("Ngưỡng 90"));
        assert!(svg.ends_with("</svg>"));
        // Deterministic: the same figures give the same bytes.
        let again = lines(
            "Điểm <chỉ tiêu>",
            &MONTHS,
            &[Series { label: "kieu-mau", values: &values }],
            Some(Rule { value: 90, label: "Ngưỡng" }),
        );
        assert_eq!(svg, again.as_str());
    }

    #[test]
    fn bars_under_the_minimum_are_marked() {
        let values = [25, 10, 20, 0, 40, 20, 20, 20, 20, 20, 20, 120];
        let svg = bars("Điểm học tập", &MONTHS, &values, Some(Rule { value: 20, label: "Tối thiểu" }));
        let svg = svg.as_str();
        assert_eq!(svg.matches("fill=\"#c77700\"").count(), 2, "10 and 0 are under 20");
        assert_eq!(svg.matches("data-month=").count(), 12);
        assert!(svg.contains("data-value=\"120\"") && svg.contains(">120</text>"));
        assert!(svg.contains("Tối thiểu 20"));
        // The tallest bar fits under the top of the plot.
        assert!(!svg.contains("y=\"-"), "{svg}");
    }
}
