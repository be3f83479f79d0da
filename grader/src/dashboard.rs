//! The training dashboard: week 3's `metrics.jsonl` files (one `Record` per step, as the
//! learner's `MetricsLog` writes them) as one self-contained HTML page of SVG charts, plus a PNG
//! of each chart. Several runs share one page, each in its own colour, so a search's runs can
//! be compared. `grader dashboard --watch` rewrites the page every 2 s while a run goes, and a
//! page written that way reloads itself every 5 s.
//!
//! The reader is the grader's own, not the learner's: it keeps every finished line and skips a
//! last line without its newline (a write in progress). Every chart has one point per record.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One step's metrics.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub step: f64,
    pub loss: f64,
    pub lr: f64,
    pub grad_norm: f64,
    pub tokens_per_s: f64,
    pub layers: BTreeMap<String, f64>,
}

/// A run: its name (the folder's) and its steps in file order.
#[derive(Clone, Debug)]
pub struct Run {
    pub name: String,
    pub steps: Vec<Step>,
}

/// Read `dir/metrics.jsonl`.
pub fn read_run(dir: &Path) -> Result<Run> {
    let path = dir.join("metrics.jsonl");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("no metrics at {} (a week 3 training run writes metrics.jsonl into its folder)", path.display()))?;
    let mut lines: Vec<&str> = text.split('\n').collect();
    lines.pop(); // "" after the last newline, or a line still being written
    let mut steps = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).with_context(|| format!("{}:{}: not JSON", path.display(), i + 1))?;
        let num = |k: &str| v.get(k).and_then(|x| x.as_f64()).with_context(|| format!("{}:{}: no number `{k}`", path.display(), i + 1));
        let layers = v
            .get("layer_grad_norms")
            .and_then(|m| m.as_object())
            .map(|m| m.iter().filter_map(|(k, x)| x.as_f64().map(|x| (k.clone(), x))).collect())
            .unwrap_or_default();
        steps.push(Step { step: num("step")?, loss: num("loss")?, lr: num("lr")?, grad_norm: num("grad_norm")?, tokens_per_s: num("tokens_per_s")?, layers });
    }
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| dir.display().to_string());
    Ok(Run { name, steps })
}

/// The loss smoothed by an exponential moving average with bias correction (TensorBoard's
/// smoothing): `m ← β m + (1 − β) x`, reported as `m / (1 − β^t)`.
pub fn smoothed(xs: &[f64], beta: f64) -> Vec<f64> {
    let mut m = 0.0;
    xs.iter()
        .enumerate()
        .map(|(t, &x)| {
            m = beta * m + (1.0 - beta) * x;
            m / (1.0 - beta.powi(t as i32 + 1))
        })
        .collect()
}

/// One line of a chart: the run's index, the series' name, and its points (step, value).
pub type Line = (usize, String, Vec<(f64, f64)>);

/// One chart: a title, and its lines.
pub struct Chart {
    pub id: &'static str,
    pub title: String,
    pub log_y: bool,
    pub lines: Vec<Line>,
}

const COLOURS: [&str; 8] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];

/// The charts of `runs`. `clip`: the clipping threshold, for the gradient norm after clipping.
pub fn charts(runs: &[Run], clip: Option<f64>) -> Vec<Chart> {
    let series = |f: &dyn Fn(&Step) -> f64, r: &Run| -> Vec<(f64, f64)> { r.steps.iter().map(|s| (s.step, f(s))).collect() };
    let mut loss = Chart { id: "loss", title: "loss (thin) and its smoothed curve (β 0.9)".into(), log_y: false, lines: Vec::new() };
    let mut lr = Chart { id: "lr", title: "learning rate".into(), log_y: false, lines: Vec::new() };
    let mut norm = Chart {
        id: "grad_norm",
        title: match clip {
            Some(c) => format!("global gradient norm before clipping (solid) and after clipping at {c} (dashed)"),
            None => "global gradient norm before clipping".into(),
        },
        log_y: true,
        lines: Vec::new(),
    };
    let mut speed = Chart { id: "tokens_per_s", title: "tokens per second".into(), log_y: false, lines: Vec::new() };
    for (k, r) in runs.iter().enumerate() {
        loss.lines.push((k, "raw".into(), series(&|s| s.loss, r)));
        let sm = smoothed(&r.steps.iter().map(|s| s.loss).collect::<Vec<_>>(), 0.9);
        loss.lines.push((k, "smoothed".into(), r.steps.iter().zip(sm).map(|(s, v)| (s.step, v)).collect()));
        lr.lines.push((k, "lr".into(), series(&|s| s.lr, r)));
        norm.lines.push((k, "before".into(), series(&|s| s.grad_norm, r)));
        if let Some(c) = clip {
            norm.lines.push((k, "after".into(), series(&|s| s.grad_norm.min(c), r)));
        }
        speed.lines.push((k, "tokens_per_s".into(), series(&|s| s.tokens_per_s, r)));
    }
    let mut out = vec![loss, lr, norm, speed];
    if let Some(r) = runs.first() {
        let names: Vec<String> = r.steps.first().map(|s| s.layers.keys().cloned().collect()).unwrap_or_default();
        if !names.is_empty() {
            let mut layers = Chart {
                id: "layer_grad_norms",
                title: format!("gradient norm of each variable, before clipping ({})", r.name),
                log_y: true,
                lines: Vec::new(),
            };
            for (k, n) in names.iter().enumerate() {
                layers.lines.push((k, n.clone(), r.steps.iter().map(|s| (s.step, s.layers.get(n).copied().unwrap_or(f64::NAN))).collect()));
            }
            out.push(layers);
        }
    }
    out
}

/// `s` as HTML text or an attribute's value.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// One chart as an SVG element: a frame, the axis ranges as text, and one polyline per line
/// with one point per step.
fn svg(c: &Chart, runs: &[Run]) -> String {
    let (w, h, m) = (640.0, 260.0, 44.0);
    let ty = |v: f64| if c.log_y { v.max(1e-12).log10() } else { v };
    let pts = c.lines.iter().flat_map(|(_, _, p)| p.iter()).filter(|(x, y)| x.is_finite() && y.is_finite());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(ty(y));
        y1 = y1.max(ty(y));
    }
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    let (xs, ys) = ((x1 - x0).max(1e-12), (y1 - y0).max(1e-12));
    let mut s = String::new();
    let _ = write!(s, r#"<svg data-chart="{}" viewBox="0 0 {w} {h}" width="{w}" height="{h}" xmlns="http://www.w3.org/2000/svg">"#, c.id);
    let _ = write!(s, r##"<rect x="{m}" y="8" width="{}" height="{}" fill="none" stroke="#ccc"/>"##, w - m - 8.0, h - m - 8.0);
    let label = |v: f64| number(if c.log_y { 10f64.powf(v) } else { v });
    let _ = write!(
        s,
        r##"<text x="4" y="18" font-size="10" fill="#555">{}</text><text x="4" y="{}" font-size="10" fill="#555">{}</text>"##,
        label(y1),
        h - m,
        label(y0)
    );
    let _ = write!(
        s,
        r##"<text x="{m}" y="{}" font-size="10" fill="#555">step {x0}</text><text x="{}" y="{}" font-size="10" fill="#555" text-anchor="end">step {x1}</text>"##,
        h - m + 14.0,
        w - 8.0,
        h - m + 14.0
    );
    for (k, (run, name, p)) in c.lines.iter().enumerate() {
        let colour = if c.id == "layer_grad_norms" { COLOURS[k % COLOURS.len()] } else { COLOURS[run % COLOURS.len()] };
        let style = match name.as_str() {
            "raw" => r#" stroke-width="0.8" stroke-opacity="0.45""#,
            "after" => r#" stroke-width="1.4" stroke-dasharray="4 3""#,
            _ => r#" stroke-width="1.6""#,
        };
        let points: Vec<String> = p
            .iter()
            .map(|&(x, y)| {
                let yy = if y.is_finite() { ty(y) } else { y0 };
                format!("{:.2},{:.2}", m + (x - x0) / xs * (w - m - 8.0), 8.0 + (1.0 - (yy - y0) / ys) * (h - m - 8.0))
            })
            .collect();
        let run_name = runs.get(*run).map(|r| r.name.as_str()).unwrap_or("");
        let _ = write!(
            s,
            r#"<polyline data-run="{}" data-series="{}" fill="none" stroke="{colour}"{style} points="{}"><title>{} {}</title></polyline>"#,
            escape(run_name),
            escape(name),
            points.join(" "),
            escape(run_name),
            escape(name)
        );
    }
    s.push_str("</svg>");
    s
}

/// A number for an axis: four significant digits, no more than a whole number's.
fn number(v: f64) -> String {
    if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else if v == 0.0 {
        "0".into()
    } else {
        let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 8) as usize;
        format!("{v:.digits$}")
    }
}

/// Open `path` in the browser (xdg-open, or open on macOS); false when no opener could start.
pub fn open_in_browser(path: &Path) -> bool {
    let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
    std::process::Command::new(opener).arg(path).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().is_ok()
}

/// The page: a legend of the runs, then every chart. `live`: the page reloads itself every 5 s
/// (for `--watch`, which rewrites it while a run goes).
pub fn html(runs: &[Run], clip: Option<f64>, live: bool) -> String {
    let mut s = String::from("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>candlecamp training dashboard</title>");
    if live {
        s.push_str("<meta http-equiv=\"refresh\" content=\"5\">");
    }
    s.push_str("<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}h2{font-size:15px;margin:18px 0 4px}.runs span{margin-right:16px}</style></head><body>");
    s.push_str("<h1>Training dashboard</h1><p class=\"runs\">");
    for (k, r) in runs.iter().enumerate() {
        let last = r.steps.last();
        let _ = write!(
            s,
            "<span data-run=\"{}\"><b style=\"color:{}\">■ {}</b>: {} steps{}</span>",
            escape(&r.name),
            COLOURS[k % COLOURS.len()],
            escape(&r.name),
            r.steps.len(),
            last.map(|l| format!(", last loss {:.4}", l.loss)).unwrap_or_default()
        );
    }
    s.push_str("</p>");
    if live {
        s.push_str("<p><i>Live: this page reloads every 5 s while <code>grader dashboard --watch</code> rewrites it.</i></p>");
    }
    for c in charts(runs, clip) {
        let _ = write!(s, "<h2>{}</h2>{}", escape(&c.title), svg(&c, runs));
        if c.id == "layer_grad_norms" {
            s.push_str("<p class=\"runs\">");
            for (k, (_, name, _)) in c.lines.iter().enumerate() {
                let _ = write!(s, "<span style=\"color:{}\">■ {}</span>", COLOURS[k % COLOURS.len()], escape(name));
            }
            s.push_str("</p>");
        }
    }
    s.push_str("</body></html>\n");
    s
}

/// Write the page to `out` and a PNG of every chart beside it (`<stem>_<chart>.png`). Returns
/// the runs read.
pub fn write(dirs: &[PathBuf], out: &Path, clip: Option<f64>, live: bool) -> Result<Vec<Run>> {
    if dirs.is_empty() {
        bail!("no run folders given");
    }
    let runs: Vec<Run> = dirs.iter().map(|d| read_run(d)).collect::<Result<_>>()?;
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(out, html(&runs, clip, live)).with_context(|| format!("cannot write {}", out.display()))?;
    let stem = out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "dashboard".into());
    for c in charts(&runs, clip) {
        let series: Vec<Vec<f32>> =
            c.lines.iter().map(|(_, _, p)| p.iter().map(|&(_, y)| if c.log_y { y.max(1e-12).log10() as f32 } else { y as f32 }).collect()).collect();
        let refs: Vec<&[f32]> = series.iter().map(|v| v.as_slice()).collect();
        crate::picture::lines(&out.with_file_name(format!("{stem}_{}.png", c.id)), &refs, 640, 240).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(step: usize, loss: f64) -> String {
        format!(r#"{{"step":{step},"loss":{loss},"lr":0.001,"grad_norm":{},"tokens_per_s":1000.0,"layer_grad_norms":{{"a":0.5,"b":0.25}}}}"#, 0.5 + step as f64)
    }

    fn run_dir(name: &str, lines: &[String], tail: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("candlecamp-dash-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut text = lines.join("\n");
        text.push('\n');
        text.push_str(tail);
        std::fs::write(dir.join("metrics.jsonl"), text).unwrap();
        dir
    }

    #[test]
    fn every_chart_has_a_point_per_logged_step_and_an_unfinished_line_is_skipped() {
        let lines: Vec<String> = (0..37).map(|s| record(s, 3.0 - s as f64 * 0.05)).collect();
        let dir = run_dir("one", &lines, r#"{"step":37,"lo"#);
        let out = dir.join("dashboard.html");
        let runs = write(std::slice::from_ref(&dir), &out, Some(1.0), true).unwrap();
        assert_eq!(runs[0].steps.len(), 37);
        let page = std::fs::read_to_string(&out).unwrap();
        let polylines: Vec<&str> = page.split("<polyline").skip(1).collect();
        // loss raw + smoothed, lr, norm before + after, tokens/s, two layers
        assert_eq!(polylines.len(), 8, "{page}");
        for p in polylines {
            let pts = p.split("points=\"").nth(1).unwrap().split('"').next().unwrap();
            assert_eq!(pts.split(' ').count(), 37, "{p}");
        }
        assert!(page.contains("<meta http-equiv=\"refresh\""), "a watched page reloads itself");
        for chart in ["loss", "lr", "grad_norm", "tokens_per_s", "layer_grad_norms"] {
            assert!(out.with_file_name(format!("dashboard_{chart}.png")).exists(), "{chart}");
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn two_runs_share_a_page_and_a_corrupt_line_is_named() {
        let a = run_dir("a", &(0..5).map(|s| record(s, 2.0)).collect::<Vec<_>>(), "");
        let b = run_dir("b", &(0..9).map(|s| record(s, 1.0)).collect::<Vec<_>>(), "");
        let page = html(&[read_run(&a).unwrap(), read_run(&b).unwrap()], None, false);
        assert!(!page.contains("http-equiv"), "a page written once does not reload");
        assert!(page.contains(&format!("data-run=\"{}\"", a.file_name().unwrap().to_string_lossy())));
        assert_eq!(page.matches("data-series=\"smoothed\"").count(), 2);
        assert!(!page.contains("data-series=\"after\""), "no clipping threshold, no clipped line");
        let bad = run_dir("bad", &[record(0, 1.0), "{not json".into()], "");
        let e = read_run(&bad).unwrap_err().to_string();
        assert!(e.ends_with("metrics.jsonl:2: not JSON"), "{e}");
        for d in [a, b, bad] {
            let _ = std::fs::remove_dir_all(d);
        }
    }

    #[test]
    fn smoothing_starts_at_the_first_value() {
        let s = smoothed(&[2.0, 2.0, 4.0], 0.9);
        assert!((s[0] - 2.0).abs() < 1e-12 && (s[1] - 2.0).abs() < 1e-12 && s[2] > 2.0 && s[2] < 4.0, "{s:?}");
    }
}
