//! A deliberately tiny HTTP/1.1 request-head parser and response writer.
//!
//! It covers what a one-request-per-connection JSON server needs: the request
//! line and headers. Request bodies, chunked encoding and keep-alive are out of
//! scope; every response carries `Connection: close`.

use std::fmt;

/// Upper bound on a request head; anything larger is rejected, so a client
/// cannot make the server buffer without limit.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;

/// A parsed request line plus headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The raw request target, including any query string.
    pub target: String,
    pub version: String,
    /// Header names as sent, values trimmed of surrounding whitespace.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The target without its query string: routing ignores queries.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// First header called `name`; header names are case-insensitive.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request head could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Nothing before the first line break.
    Empty,
    /// The request line is not `METHOD TARGET VERSION`.
    BadRequestLine(String),
    /// Only HTTP/1.0 and HTTP/1.1 are spoken.
    UnsupportedVersion(String),
    /// A header line without a valid `name: value` shape.
    BadHeader(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Empty => write!(f, "empty request"),
            ParseError::BadRequestLine(l) => write!(f, "malformed request line {l:?}"),
            ParseError::UnsupportedVersion(v) => write!(f, "unsupported HTTP version {v:?}"),
            ParseError::BadHeader(l) => write!(f, "malformed header line {l:?}"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Index just past the blank line (`\r\n\r\n`) that ends a request head, if
/// `buf` already contains one. Used while reading from a socket.
pub fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Parses a request head. Lines may end in CRLF or, leniently, bare LF;
/// anything after the blank line (a body) is ignored.
pub fn parse_request(head: &str) -> Result<Request, ParseError> {
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));

    let request_line = lines
        .next()
        .filter(|l| !l.is_empty())
        .ok_or(ParseError::Empty)?;
    let bad_line = || ParseError::BadRequestLine(request_line.to_string());

    // Exactly three space-separated parts (RFC 9112 section 3).
    let mut parts = request_line.split(' ');
    let (method, target, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v), None) => (m, t, v),
        _ => return Err(bad_line()),
    };
    // Real methods are upper-case tokens; accepting only those keeps the
    // parser strict without a full token grammar.
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(bad_line());
    }
    if !target.starts_with('/') && target != "*" {
        return Err(bad_line());
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(ParseError::UnsupportedVersion(version.to_string()));
    }

    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            break;
        }
        let bad_header = || ParseError::BadHeader(line.to_string());
        let (name, value) = line.split_once(':').ok_or_else(bad_header)?;
        // Whitespace before the colon is forbidden (request smuggling vector).
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(bad_header());
        }
        headers.push((name.to_string(), value.trim().to_string()));
    }

    Ok(Request {
        method: method.to_string(),
        target: target.to_string(),
        version: version.to_string(),
        headers,
    })
}

/// A complete response; serialised by [`Response::to_bytes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Response {
    pub fn json(status: u16, body: String) -> Self {
        Response {
            status,
            content_type: "application/json",
            body,
        }
    }

    pub fn text(status: u16, body: String) -> Self {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body,
        }
    }

    /// The response as it goes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            self.status,
            reason_phrase(self.status),
            self.content_type,
            self.body.len(),
            self.body
        )
        .into_bytes()
    }
}

/// Reason phrase for the statuses this server emits.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_request_line_and_headers() {
        let req = parse_request(
            "GET /_matrix/client/versions?x=1 HTTP/1.1\r\nHost: hs1:8008\r\nAccept:  */*  \r\n\r\n",
        )
        .unwrap();
        assert_eq!(req.method, "GET");
        assert_eq!(req.target, "/_matrix/client/versions?x=1");
        assert_eq!(req.path(), "/_matrix/client/versions");
        assert_eq!(req.version, "HTTP/1.1");
        assert_eq!(req.header("host"), Some("hs1:8008"));
        assert_eq!(req.header("ACCEPT"), Some("*/*"));
        assert_eq!(req.header("missing"), None);
    }

    #[test]
    fn accepts_bare_lf_and_ignores_body() {
        let req = parse_request("POST /x HTTP/1.0\nA: b\n\nnot: a header").unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(req.headers, vec![("A".to_string(), "b".to_string())]);
    }

    #[test]
    fn rejects_malformed_heads() {
        assert_eq!(parse_request(""), Err(ParseError::Empty));
        assert_eq!(parse_request("\r\n"), Err(ParseError::Empty));
        for line in [
            "GET /",
            "GET / HTTP/1.1 extra",
            "get / HTTP/1.1",
            "GET  / HTTP/1.1",
            "GET nope HTTP/1.1",
        ] {
            assert_eq!(
                parse_request(line),
                Err(ParseError::BadRequestLine(line.to_string())),
                "{line}"
            );
        }
        assert_eq!(
            parse_request("GET / HTTP/2\r\n\r\n"),
            Err(ParseError::UnsupportedVersion("HTTP/2".to_string()))
        );
        assert_eq!(
            parse_request("GET / HTTP/1.1\r\nno colon\r\n\r\n"),
            Err(ParseError::BadHeader("no colon".to_string()))
        );
        assert_eq!(
            parse_request("GET / HTTP/1.1\r\nHost : x\r\n\r\n"),
            Err(ParseError::BadHeader("Host : x".to_string()))
        );
    }

    #[test]
    fn finds_end_of_head() {
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n"), None);
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\r\nbody"), Some(18));
    }

    #[test]
    fn serialises_response() {
        let bytes = Response::json(404, "{}".to_string()).to_bytes();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n\
             Content-Length: 2\r\nConnection: close\r\n\r\n{}"
        );
    }

    #[test]
    fn content_length_counts_bytes_not_chars() {
        let text = String::from_utf8(Response::text(200, "é".to_string()).to_bytes()).unwrap();
        assert!(text.contains("Content-Length: 2\r\n"));
    }
}
