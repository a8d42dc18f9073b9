//! The server's on-disk state: for this example only a start log.
//!
//! Appending (never truncating) lets the same storage be reused across
//! restarts and container re-creations, which is what the build tests check.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

pub const STARTS_LOG: &str = "starts.log";

/// Creates `dir` if needed, appends one line to `dir/starts.log`, and
/// returns how many starts the log now records.
pub fn record_start(dir: &Path, version: &str) -> io::Result<usize> {
    fs::create_dir_all(dir)?;
    let log = dir.join(STARTS_LOG);
    let unix_time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let line = format!(
        "start unix_time={unix_time} pid={} version={version}\n",
        std::process::id()
    );
    // One write of the whole line, so concurrent starts cannot interleave
    // within a line (O_APPEND makes each write land at the end).
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)?
        .write_all(line.as_bytes())?;
    Ok(fs::read_to_string(&log)?.lines().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_one_line_per_start() {
        let dir = std::env::temp_dir().join(format!(
            "mxd-storage-test-{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let nested = dir.join("a/b");
        assert_eq!(record_start(&nested, "1.2.3").unwrap(), 1);
        assert_eq!(record_start(&nested, "1.2.3").unwrap(), 2);
        let log = fs::read_to_string(nested.join(STARTS_LOG)).unwrap();
        assert!(log.lines().all(|l| l.starts_with("start unix_time=")));
        assert!(log.lines().all(|l| l.ends_with(" version=1.2.3")));
        fs::remove_dir_all(&dir).unwrap();
    }
}
