//! Hand-written JSON output.
//!
//! The server only ever *emits* small, fixed-shape documents, so a string
//! escaper and an object/array joiner are enough; no JSON library needed.

/// Matrix client-server spec versions this server claims to speak.
pub const SPEC_VERSIONS: [&str; 11] = [
    "v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10", "v1.11",
];

/// `s` as a quoted JSON string, escaped per RFC 8259 section 7: quote,
/// backslash and every control character (U+0000..U+001F) must be escaped;
/// all other characters, including non-ASCII, may appear literally.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON object from keys and already-rendered JSON values, in order.
pub fn object<K: AsRef<str>>(fields: &[(K, String)]) -> String {
    let members: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}:{}", string(k.as_ref()), v))
        .collect();
    format!("{{{}}}", members.join(","))
}

/// A JSON array of already-rendered JSON values.
pub fn array(items: &[String]) -> String {
    format!("[{}]", items.join(","))
}

/// Body of `GET /_matrix/client/versions`. `features` become
/// `unstable_features` entries named `org.mxd.<feature>`, each `true` or
/// `false`, so clients can see what this build supports.
pub fn client_versions(features: &[(&str, bool)]) -> String {
    let versions: Vec<String> = SPEC_VERSIONS.iter().map(|v| string(v)).collect();
    let unstable: Vec<(String, String)> = features
        .iter()
        .map(|(name, on)| (format!("org.mxd.{name}"), on.to_string()))
        .collect();
    object(&[
        ("versions", array(&versions)),
        ("unstable_features", object(&unstable)),
    ])
}

/// A Matrix error body, e.g. `{"errcode":"M_UNRECOGNIZED","error":"..."}`.
pub fn error(errcode: &str, message: &str) -> String {
    object(&[("errcode", string(errcode)), ("error", string(message))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_strings() {
        assert_eq!(string("plain"), r#""plain""#);
        assert_eq!(string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(string("l1\nl2\r\t"), r#""l1\nl2\r\t""#);
        assert_eq!(string("\u{0}\u{1f}\u{8}\u{c}"), r#""\u0000\u001f\b\f""#);
        // Non-ASCII and DEL need no escaping.
        assert_eq!(string("é😀\u{7f}"), "\"é😀\u{7f}\"");
    }

    #[test]
    fn renders_objects_and_arrays() {
        assert_eq!(object::<&str>(&[]), "{}");
        assert_eq!(array(&[]), "[]");
        assert_eq!(
            object(&[("a\"", "1".to_string()), ("b", array(&[string("x")]))]),
            r#"{"a\"":1,"b":["x"]}"#
        );
    }

    #[test]
    fn renders_client_versions() {
        let body = client_versions(&[("media", true), ("metrics", false)]);
        assert_eq!(
            body,
            concat!(
                r#"{"versions":["v1.1","v1.2","v1.3","v1.4","v1.5","v1.6","v1.7","v1.8","#,
                r#""v1.9","v1.10","v1.11"],"#,
                r#""unstable_features":{"org.mxd.media":true,"org.mxd.metrics":false}}"#
            )
        );
    }

    #[test]
    fn renders_errors() {
        assert_eq!(
            error("M_UNRECOGNIZED", "Unrecognized request"),
            r#"{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}"#
        );
    }
}
