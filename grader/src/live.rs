//! The live line of a long target: while its child process runs, the step, loss, time so far
//! and time left, from what the learner's loop reports through `candlecamp::progress` (a file
//! the child appends to). On a terminal it is an indicatif line redrawn every half second; in a
//! log, a plain line every 30 seconds. Never in `--json` output.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How progress is shown in this run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// Nothing (`--json`, or short exercises only).
    Off,
    /// An indicatif line on the terminal.
    Terminal,
    /// A plain line on stderr every 30 s (a log, CI).
    Log,
}

impl Mode {
    /// Terminal when stderr is one, a log otherwise; Off for `--json`.
    pub fn detect(json: bool) -> Mode {
        if json {
            Mode::Off
        } else if std::io::stderr().is_terminal() {
            Mode::Terminal
        } else {
            Mode::Log
        }
    }
}

fn multi() -> &'static MultiProgress {
    static M: OnceLock<MultiProgress> = OnceLock::new();
    M.get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(4)))
}

/// The line of one running exercise.
pub struct Line {
    id: String,
    file: PathBuf,
    mode: Mode,
    start: Instant,
    bar: Option<ProgressBar>,
    last_log: Instant,
    /// When the first step was reported (the rate is measured from there: building the model
    /// and loading the data come before it).
    first: Option<(Instant, usize)>,
}

/// `12 s`, `3 min 05 s`.
pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s} s")
    } else {
        format!("{} min {:02} s", s / 60, s % 60)
    }
}

impl Line {
    /// Start the line of exercise `id`, whose loop reports to `file`, running since `start`.
    pub fn start(id: &str, file: &Path, mode: Mode, start: Instant) -> Line {
        let bar = (mode == Mode::Terminal).then(|| {
            let b = multi().add(ProgressBar::new_spinner());
            b.set_style(ProgressStyle::with_template("  {spinner} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()));
            b.enable_steady_tick(Duration::from_millis(250));
            b
        });
        let line = Line { id: id.to_string(), file: file.to_path_buf(), mode, start, bar, last_log: Instant::now(), first: None };
        if let Some(b) = &line.bar {
            b.set_message(line.text());
        }
        line
    }

    /// What the line says now.
    pub fn text(&self) -> String {
        let elapsed = self.start.elapsed();
        let step = std::fs::read_to_string(&self.file).ok().and_then(|t| candlecamp::last_step(&t));
        match step {
            None => format!(
                "{}: running, {} (your loop reports no steps: call candlecamp::progress(step, steps, loss) in it to see them here)",
                self.id,
                duration(elapsed)
            ),
            Some(s) => {
                let done = s.step + 1;
                let eta = match self.first {
                    Some((t0, first_done)) if done > first_done => {
                        let per = t0.elapsed().as_secs_f64() / (done - first_done) as f64;
                        format!(", about {} left", duration(Duration::from_secs_f64(per * s.total.saturating_sub(done) as f64)))
                    }
                    _ => String::new(),
                };
                format!("{}: step {done} / {} · {} {:.4} · {}{eta}", self.id, s.total, s.what, s.value, duration(elapsed))
            }
        }
    }

    /// Redraw (called from the runner's wait loop).
    pub fn tick(&mut self) {
        if self.mode == Mode::Off {
            return;
        }
        if self.first.is_none() {
            if let Some(s) = std::fs::read_to_string(&self.file).ok().and_then(|t| candlecamp::last_step(&t)) {
                self.first = Some((Instant::now(), s.step + 1));
            }
        }
        match self.mode {
            Mode::Terminal => {
                if let Some(b) = &self.bar {
                    b.set_message(self.text());
                }
            }
            Mode::Log if self.last_log.elapsed() >= Duration::from_secs(30) => {
                self.last_log = Instant::now();
                eprintln!("  {}", self.text());
            }
            _ => {}
        }
    }

    /// Take the line away (the exercise's result is printed next).
    pub fn finish(self) {
        if let Some(b) = self.bar {
            b.finish_and_clear();
            multi().remove(&b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_the_step_the_loss_and_the_time_left() {
        let dir = std::env::temp_dir().join(format!("candlecamp-live-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("progress");
        let _ = std::fs::remove_file(&file);
        let mut line = Line::start("week3.chargpt.baby_gpt", &file, Mode::Off, Instant::now());
        assert!(line.text().contains("reports no steps"), "{}", line.text());
        std::fs::write(&file, "0 100 4.25\n").unwrap();
        line.mode = Mode::Log;
        line.tick();
        std::thread::sleep(Duration::from_millis(30));
        std::fs::write(&file, "0 100 4.25\n9 100 2.5\n19 100 2.0\n").unwrap();
        let t = line.text();
        assert!(t.contains("step 20 / 100") && t.contains("loss 2.0000") && t.contains("left"), "{t}");
        assert_eq!(duration(Duration::from_secs(185)), "3 min 05 s");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
