//! Which cargo features this build was compiled with.
//!
//! The `mxd` binary forwards each of its features to this crate, so the
//! answers here describe the whole build.

/// Every optional feature with whether it was compiled in, in the order
/// reports list them (alphabetical, as cargo itself orders features).
const TABLE: [(&str, bool); 3] = [
    ("federation", cfg!(feature = "federation")),
    ("media", cfg!(feature = "media")),
    ("metrics", cfg!(feature = "metrics")),
];

/// Names of every optional feature, enabled or not.
pub const KNOWN: [&str; 3] = [TABLE[0].0, TABLE[1].0, TABLE[2].0];

/// Whether `name` was enabled at compile time. Unknown names are `false`.
pub fn is_enabled(name: &str) -> bool {
    TABLE.iter().any(|&(n, on)| n == name && on)
}

/// Each known feature paired with whether it is enabled.
pub fn states() -> Vec<(&'static str, bool)> {
    TABLE.to_vec()
}

/// The enabled features only.
pub fn enabled() -> Vec<&'static str> {
    KNOWN.iter().copied().filter(|f| is_enabled(f)).collect()
}

/// Comma-separated enabled features, or `none`, for `mxd --version`.
pub fn summary() -> String {
    let enabled = enabled();
    if enabled.is_empty() {
        "none".to_string()
    } else {
        enabled.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_cover_every_known_feature() {
        let names: Vec<_> = states().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, KNOWN);
    }

    #[test]
    fn unknown_features_are_disabled() {
        assert!(!is_enabled("no-such-feature"));
    }

    #[test]
    fn summary_matches_cfg() {
        let mut expected = Vec::new();
        if cfg!(feature = "federation") {
            expected.push("federation");
        }
        if cfg!(feature = "media") {
            expected.push("media");
        }
        if cfg!(feature = "metrics") {
            expected.push("metrics");
        }
        let expected = if expected.is_empty() {
            "none".to_string()
        } else {
            expected.join(",")
        };
        assert_eq!(summary(), expected);
    }
}
