//! Which CPU extensions this build was compiled to use.
//!
//! The build matrix sets rustc's `-C target-cpu` from the system target's
//! level (x86-64-v1 to v4, the psABI's microarchitecture levels), so these
//! compile-time answers show which level reached the compiler.

/// The x86-64 features that mark the levels above v1 (v2: SSE4.2, v3: AVX2,
/// v4: AVX-512F), with whether this build may use them. Other architectures
/// list none.
const TABLE: [(&str, bool); 3] = [
    (
        "sse4.2",
        cfg!(all(target_arch = "x86_64", target_feature = "sse4.2")),
    ),
    (
        "avx2",
        cfg!(all(target_arch = "x86_64", target_feature = "avx2")),
    ),
    (
        "avx512f",
        cfg!(all(target_arch = "x86_64", target_feature = "avx512f")),
    ),
];

/// Comma-separated extensions this build may use, or `baseline`, for
/// `mxd --version`.
pub fn summary() -> String {
    let on: Vec<&str> = TABLE
        .iter()
        .filter(|&&(_, on)| on)
        .map(|&(n, _)| n)
        .collect();
    if on.is_empty() {
        "baseline".to_string()
    } else {
        on.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_matches_cfg() {
        let avx2 = cfg!(all(target_arch = "x86_64", target_feature = "avx2"));
        assert_eq!(summary().split(',').any(|f| f == "avx2"), avx2);
    }

    #[test]
    fn each_level_implies_the_one_below() {
        // AVX-512F implies AVX2 implies SSE4.2 (the psABI levels nest).
        let on: Vec<bool> = TABLE.iter().map(|&(_, on)| on).collect();
        assert!(!on[2] || on[1]);
        assert!(!on[1] || on[0]);
    }
}
