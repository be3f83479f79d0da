//! Pearson's chi-square goodness-of-fit test, for the checks of samplers (week 0's names,
//! week 2's token sampler, week 4's replay buffer): one implementation of the statistic and of
//! its exact p-value.

/// `ln Γ(x)` for x > 0 (Lanczos approximation, g = 7, n = 9; ~1e-15 relative).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + 7.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The regularised upper incomplete gamma function Q(s, x) = Γ(s, x) / Γ(s).
fn gamma_q(s: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if x < s + 1.0 {
        // Series for P(s, x).
        let (mut sum, mut term, mut n) = (1.0 / s, 1.0 / s, s);
        for _ in 0..1000 {
            n += 1.0;
            term *= x / n;
            sum += term;
            if term.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        1.0 - sum * (-x + s * x.ln() - ln_gamma(s)).exp()
    } else {
        // Continued fraction (modified Lentz) for Q(s, x).
        let tiny = 1e-300;
        let mut b = x + 1.0 - s;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..1000 {
            let an = -(i as f64) * (i as f64 - s);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-15 {
                break;
            }
        }
        (-x + s * x.ln() - ln_gamma(s)).exp() * h
    }
}

/// `P(X > stat)` for a chi-square variable with `df` degrees of freedom (the test's p-value).
pub fn chi_square_tail(stat: f64, df: usize) -> f64 {
    gamma_q(df as f64 / 2.0, stat / 2.0)
}

/// Chi-square test of observed counts against expected probabilities. Categories with an
/// expected count below 5 are pooled into one (the usual validity rule). Returns
/// (statistic, degrees of freedom, p-value).
pub fn chi_square(observed: &[u64], probs: &[f64]) -> (f64, usize, f64) {
    let n: u64 = observed.iter().sum();
    let total: f64 = probs.iter().sum();
    let (mut stat, mut cats) = (0.0, 0usize);
    let (mut pool_o, mut pool_e) = (0.0, 0.0);
    for (&o, &p) in observed.iter().zip(probs) {
        let e = n as f64 * p / total;
        if e < 5.0 {
            pool_o += o as f64;
            pool_e += e;
        } else {
            stat += (o as f64 - e).powi(2) / e;
            cats += 1;
        }
    }
    if pool_e > 0.0 {
        if pool_e >= 1e-12 {
            stat += (pool_o - pool_e).powi(2) / pool_e;
        } else if pool_o > 0.0 {
            stat = f64::INFINITY;
        }
        cats += 1;
    }
    let df = cats.saturating_sub(1).max(1);
    (stat, df, chi_square_tail(stat, df))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chi_square_p_values_match_tables() {
        // Critical values from standard chi-square tables: P(X > x) for df degrees of freedom.
        approx::assert_abs_diff_eq!(gamma_q(0.5, 3.841 / 2.0), 0.05, epsilon = 1e-4); // df 1, 5 %
        approx::assert_abs_diff_eq!(gamma_q(5.0, 18.307 / 2.0), 0.05, epsilon = 1e-4); // df 10, 5 %
        approx::assert_abs_diff_eq!(gamma_q(13.0, 45.642 / 2.0), 0.01, epsilon = 1e-4); // df 26, 1 %
        approx::assert_abs_diff_eq!(gamma_q(13.0, 26.0 / 2.0), 0.4624, epsilon = 1e-3); // df 26, at the mean
        approx::assert_abs_diff_eq!(chi_square_tail(24.322, 7), 1e-3, epsilon = 2e-5); // df 7, 0.1 %
        approx::assert_abs_diff_eq!(chi_square_tail(29.877, 7), 1e-4, epsilon = 2e-6);
        // df 7, 0.01 %
    }

    #[test]
    fn fair_and_unfair_counts() {
        let (_, df, p) = chi_square(&[250, 260, 240, 250], &[0.25; 4]);
        assert_eq!(df, 3);
        assert!(p > 0.5);
        let (_, _, p) = chi_square(&[400, 200, 200, 200], &[0.25; 4]);
        assert!(p < 1e-10);
    }
}
