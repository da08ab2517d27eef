//! The test process's logs and metrics, kept in memory so that tests can read them: the same
//! telemetry set-up the functions use (JSON lines with the spans' fields), written into a
//! buffer instead of standard output. `TEST_LOG=1` also echoes the log lines to stderr.

use std::io::Write;
use std::sync::{Mutex, Once};

use rookery::config::{LogFormat, TelemetryConfig};

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static METRICS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static INIT: Once = Once::new();

/// Where the log lines of this process go.
#[derive(Clone, Copy)]
struct Buffer;

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if std::env::var_os("TEST_LOG").is_some() {
            std::io::stderr().write_all(bytes)?;
        }
        LOGS.lock()
            .map_err(|_| std::io::Error::other("log buffer poisoned"))?
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sets up telemetry for this test process, once: JSON logs and EMF metrics into memory.
pub fn capture() {
    INIT.call_once(|| {
        let settings = TelemetryConfig {
            log_format: LogFormat::Json,
            otlp_endpoint: None,
            emf_metrics: false,
            function: "rookery-test".to_owned(),
        };
        rookery::telemetry::init_with(&settings, || Buffer);
        rookery::telemetry::metrics::emit_to("rookery-test".to_owned(), |line| {
            if let Ok(mut metrics) = METRICS.lock() {
                metrics.push(line.to_owned());
            }
        });
    });
}

/// Every log line written so far in this process (all tests' alike).
pub fn log_lines() -> Vec<String> {
    let logs = LOGS.lock().map(|logs| logs.clone()).unwrap_or_default();
    String::from_utf8_lossy(&logs)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Every EMF document emitted so far in this process.
pub fn metric_lines() -> Vec<String> {
    METRICS.lock().map(|m| m.clone()).unwrap_or_default()
}
