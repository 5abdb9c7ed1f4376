//! # essaim-tests
//!
//! Shared pieces of Essaim's integration tests and benchmarks. The
//! multi-node harness ([`harness`]: real nodes on 127.0.0.1, port 0, temporary
//! data directories) is shared by every multi-node test; [`machine`] is what
//! every benchmark prints about the machine.
#![deny(missing_docs)]

pub mod harness;
pub mod load;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// What every benchmark reports about where it ran.
pub fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(str::trim)
        .unwrap_or("unknown");
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory_kib = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0);
    json!({
        "cpu": model,
        "cores": cores,
        "memory_gib": memory_kib / (1024 * 1024),
        "date": today(),
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
    })
}

/// Today's date (UTC), `YYYY-MM-DD`.
pub fn today() -> String {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Run `f` over `items` repeatedly for at least `min` and return operations per second.
pub fn throughput<T>(items: &[T], min: Duration, mut f: impl FnMut(&T)) -> f64 {
    let start = Instant::now();
    let mut done = 0u64;
    while start.elapsed() < min || done == 0 {
        for item in items {
            f(item);
        }
        done += items.len() as u64;
    }
    done as f64 / start.elapsed().as_secs_f64()
}

/// Latency percentiles (microseconds) of `f`, each call timed alone.
pub fn latencies_us<T>(items: &[T], rounds: usize, mut f: impl FnMut(&T)) -> Value {
    let mut samples: Vec<f64> = Vec::with_capacity(items.len() * rounds);
    for _ in 0..rounds {
        for item in items {
            let start = Instant::now();
            f(item);
            samples.push(start.elapsed().as_secs_f64() * 1e6);
        }
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    json!({"p50": round(at(0.5)), "p99": round(at(0.99)), "samples": samples.len()})
}

/// Round to two decimals for printing.
pub fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    #[test]
    fn today_is_a_date() {
        let d = super::today();
        assert_eq!(d.len(), 10);
        assert!(d.starts_with("20"));
    }
}
