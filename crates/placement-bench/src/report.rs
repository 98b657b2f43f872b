//! Latency and throughput summaries.

use std::time::Duration;

pub struct Report {
    pub label: String,
    pub ok: usize,
    pub failed: usize,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Report {
    pub fn print(mut self) {
        self.latencies.sort();
        let pick = |q: f64| {
            if self.latencies.is_empty() {
                return 0.0;
            }
            let i = ((self.latencies.len() - 1) as f64 * q).round() as usize;
            ms(self.latencies[i])
        };
        let rate = self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9);
        println!(
            "{}: {} ok, {} failed in {:.1} s: {:.1}/s; latency median {:.2} ms, p95 {:.2} ms, max {:.2} ms",
            self.label,
            self.ok,
            self.failed,
            self.elapsed.as_secs_f64(),
            rate,
            pick(0.5),
            pick(0.95),
            pick(1.0)
        );
    }
}
