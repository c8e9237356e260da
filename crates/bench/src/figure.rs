//! How a figure is printed: one line, `figure<TAB>key<TAB>value<TAB>unit<TAB>what`, so that
//! `bench/run.sh` can gather every subcommand's lines into one table and work out ratios.

use std::time::Duration;

/// Prints one figure.
pub fn print(key: &str, value: f64, unit: &str, what: &str) {
    let value = if value.abs() >= 100.0 || value == value.trunc() {
        format!("{value:.0}")
    } else if value.abs() >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.4}")
    };
    println!("figure\t{key}\t{value}\t{unit}\t{what}");
}

/// Prints a rate of `count` things in `elapsed`.
pub fn rate(key: &str, count: u64, elapsed: Duration, unit: &str, what: &str) {
    print(key, count as f64 / elapsed.as_secs_f64().max(1e-9), unit, what);
}

/// Prints a duration in milliseconds.
pub fn millis(key: &str, elapsed: Duration, what: &str) {
    print(key, elapsed.as_secs_f64() * 1e3, "ms", what);
}

/// Prints the ratio of a figure to its peer's.
pub fn ratio(key: &str, ours: f64, peer: f64, what: &str) {
    print(key, ours / peer, "x", what);
}

/// The CPU time this process has used, in seconds, where Linux's `/proc/self/stat` tells it
/// (user and system time, fields 14 and 15, in ticks of 1/100 s).
pub fn own_cpu() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name, field 2, is in parentheses and may hold spaces: count after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user + system) / 100.0)
}
