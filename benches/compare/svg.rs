//! The chart, as hand-written SVG: one panel per metric, message size on a log x axis,
//! the metric on a log y axis, one polyline per implementation (colour) and transport
//! (dash pattern). Sized to be read at about 900 px wide.

use std::fmt::Write;

use crate::model::{Impl, Transport, SIZES};

pub struct Series {
    pub imp: Impl,
    pub transport: Transport,
    /// (message size in bytes, value)
    pub points: Vec<(f64, f64)>,
}

pub struct Panel {
    pub title: String,
    /// Formats a y-axis tick value.
    pub tick: fn(f64) -> String,
    pub series: Vec<Series>,
}

const WIDTH: f64 = 900.0;
const PANEL_HEIGHT: f64 = 390.0;
const HEADER: f64 = 46.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 700.0;
const PLOT_TOP: f64 = 44.0;
const PLOT_HEIGHT: f64 = 290.0;

fn color(imp: Impl) -> &'static str {
    // ColorBrewer Dark2: distinct for the common colour-vision deficiencies.
    match imp {
        Impl::Ferro => "#d95f02",
        Impl::Libzmq => "#1b9e77",
        Impl::ZmqRs => "#7570b3",
    }
}

fn dash(transport: Transport) -> &'static str {
    match transport {
        Transport::Tcp => "",
        Transport::Ipc => "9,4",
        Transport::Inproc => "2,3",
    }
}

fn size_label(size: usize) -> String {
    match size {
        s if s >= 1024 => format!("{} KiB", s / 1024),
        s => format!("{s} B"),
    }
}

/// The whole chart; `subtitle` says where the numbers come from.
pub fn chart(panels: &[Panel], subtitle: &str) -> String {
    let height = HEADER + PANEL_HEIGHT * panels.len() as f64;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="Helvetica, Arial, sans-serif" font-size="13">"#
    );
    let _ = writeln!(
        s,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>
<text x="{}" y="22" text-anchor="middle" font-size="17" font-weight="bold">ferrozmq vs libzmq vs zmq.rs</text>
<text x="{}" y="39" text-anchor="middle" fill="#555">{}</text>"##,
        WIDTH / 2.0,
        WIDTH / 2.0,
        escape(subtitle)
    );
    for (i, panel) in panels.iter().enumerate() {
        draw_panel(&mut s, panel, HEADER + PANEL_HEIGHT * i as f64);
    }
    s.push_str("</svg>\n");
    s
}

fn draw_panel(s: &mut String, panel: &Panel, y0: f64) {
    let top = y0 + PLOT_TOP;
    let bottom = top + PLOT_HEIGHT;
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="{}" font-size="15" font-weight="bold">{}</text>"#,
        y0 + 26.0,
        escape(&panel.title)
    );
    // x: log2 of the size, with half a step of margin on both sides.
    let (x_lo, x_hi) = (-0.6, (*SIZES.last().unwrap_or(&1) as f64).log2() + 0.6);
    let x = |size: f64| LEFT + (size.log2() - x_lo) / (x_hi - x_lo) * (RIGHT - LEFT);
    // y: whole decades around the data.
    let values = panel
        .series
        .iter()
        .flat_map(|se| se.points.iter().map(|p| p.1))
        .filter(|v| *v > 0.0);
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#777">no data</text>"##,
            (LEFT + RIGHT) / 2.0,
            (top + bottom) / 2.0
        );
        return;
    }
    let (d_lo, d_hi) = (
        lo.log10().floor(),
        hi.log10().ceil().max(lo.log10().floor() + 1.0),
    );
    let y = |v: f64| bottom - (v.log10() - d_lo) / (d_hi - d_lo) * PLOT_HEIGHT;

    // Grid: decades (labelled), 2x and 5x (light).
    let mut decade = d_lo;
    while decade <= d_hi {
        let v = 10f64.powf(decade);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" x2="{RIGHT}" y1="{0:.1}" y2="{0:.1}" stroke="#ccc"/><text x="{1}" y="{2:.1}" text-anchor="end" fill="#333">{3}</text>"##,
            y(v),
            LEFT - 8.0,
            y(v) + 4.0,
            trim_zeros(&(panel.tick)(v))
        );
        if decade < d_hi {
            for m in [2.0, 5.0] {
                let _ = writeln!(
                    s,
                    r##"<line x1="{LEFT}" x2="{RIGHT}" y1="{0:.1}" y2="{0:.1}" stroke="#eee"/>"##,
                    y(v * m)
                );
            }
        }
        decade += 1.0;
    }
    for size in SIZES {
        let xs = x(size as f64);
        let _ = writeln!(
            s,
            r##"<line x1="{xs:.1}" x2="{xs:.1}" y1="{top}" y2="{bottom}" stroke="#eee"/><text x="{xs:.1}" y="{}" text-anchor="middle" fill="#333">{}</text>"##,
            bottom + 18.0,
            size_label(size)
        );
    }
    let _ = writeln!(
        s,
        r##"<rect x="{LEFT}" y="{top}" width="{}" height="{PLOT_HEIGHT}" fill="none" stroke="#888"/><text x="{}" y="{}" text-anchor="middle" fill="#333">message size</text>"##,
        RIGHT - LEFT,
        (LEFT + RIGHT) / 2.0,
        bottom + 36.0
    );

    for series in &panel.series {
        let points: Vec<(f64, f64)> = series
            .points
            .iter()
            .filter(|p| p.1 > 0.0)
            .map(|&(size, v)| (x(size), y(v)))
            .collect();
        let path: Vec<String> = points
            .iter()
            .map(|(px, py)| format!("{px:.1},{py:.1}"))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2.2" stroke-dasharray="{}"/>"#,
            path.join(" "),
            color(series.imp),
            dash(series.transport)
        );
        for ((px, py), (size, v)) in points.iter().zip(&series.points) {
            let _ = writeln!(
                s,
                r#"<circle cx="{px:.1}" cy="{py:.1}" r="3.2" fill="{}"><title>{} {} {}: {}</title></circle>"#,
                color(series.imp),
                series.imp,
                series.transport.name(),
                size_label(*size as usize),
                (panel.tick)(*v)
            );
        }
    }
    legend(s, top);
}

fn legend(s: &mut String, top: f64) {
    let x = RIGHT + 22.0;
    let entries = Impl::ALL
        .iter()
        .map(|&i| (color(i), "", i.name(), 0.0))
        .chain(
            Transport::ALL
                .iter()
                .enumerate()
                .map(|(k, &t)| ("#444", dash(t), t.name(), if k == 0 { 10.0 } else { 0.0 })),
        );
    let mut row = top + 8.0;
    for (stroke, dasharray, label, gap) in entries {
        row += gap;
        let _ = writeln!(
            s,
            r##"<line x1="{x}" x2="{}" y1="{row}" y2="{row}" stroke="{stroke}" stroke-width="2.2" stroke-dasharray="{dasharray}"/><text x="{}" y="{}" fill="#222">{}</text>"##,
            x + 36.0,
            x + 44.0,
            row + 4.5,
            escape(label)
        );
        row += 21.0;
    }
}

/// "10.0k" → "10k", "1.00M" → "1M": decade labels need no decimals.
fn trim_zeros(label: &str) -> String {
    let split = label
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(label.len());
    let (number, suffix) = label.split_at(split);
    let number = if number.contains('.') {
        number.trim_end_matches('0').trim_end_matches('.')
    } else {
        number
    };
    format!("{number}{suffix}")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
