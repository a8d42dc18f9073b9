//! Sockets and threads: accepts connections, reads one request per
//! connection, and answers it through the mxd-core router.
//!
//! Thread-per-connection keeps the code small and needs nothing beyond std;
//! fine for an example, not for heavy traffic.

use crate::version::VERSION;
use mxd_core::http;
use mxd_core::router::{self, Context, Router};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// How long a client may stall; stops idle connections pinning threads.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// State shared by all connection threads.
pub struct Server {
    router: Router,
    server_name: String,
    requests: AtomicU64,
    /// Whether to print one line per request (off in `--selftest`, whose
    /// output should be just its verdict).
    log_requests: bool,
}

impl Server {
    pub fn new(server_name: String, log_requests: bool) -> Arc<Server> {
        Arc::new(Server {
            router: Router::mxd(),
            server_name,
            requests: AtomicU64::new(0),
            log_requests,
        })
    }

    /// Runs the accept loop for `listener` on a background thread.
    pub fn spawn(self: &Arc<Self>, listener: TcpListener) -> thread::JoinHandle<()> {
        let server = Arc::clone(self);
        thread::spawn(move || server.accept_loop(listener))
    }

    fn accept_loop(self: Arc<Self>, listener: TcpListener) {
        for stream in listener.incoming() {
            match stream {
                Ok(stream) => {
                    let server = Arc::clone(&self);
                    thread::spawn(move || server.handle(stream));
                }
                Err(e) => {
                    // E.g. out of file descriptors: back off instead of spinning.
                    eprintln!("mxd: accept failed: {e}");
                    thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    fn handle(&self, mut stream: TcpStream) {
        let peer = stream
            .peer_addr()
            .map_or_else(|_| "?".to_string(), |a| a.to_string());
        let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
        let _ = stream.set_write_timeout(Some(IO_TIMEOUT));

        let (line, response) = match read_head(&mut stream) {
            // Connected and closed without a byte, e.g. a TCP health probe.
            Ok(None) => return,
            Ok(Some(head)) => match http::parse_request(&head) {
                Ok(req) => {
                    let ctx = Context {
                        server_name: &self.server_name,
                        version: VERSION,
                        requests_served: self.requests.fetch_add(1, Ordering::Relaxed) + 1,
                    };
                    let line = format!("{} {}", req.method, req.target);
                    (line, self.router.dispatch(&req, &ctx))
                }
                Err(e) => (format!("<{e}>"), router::bad_request()),
            },
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                (format!("<{e}>"), router::bad_request())
            }
            Err(e) => {
                eprintln!("mxd: {peer}: read failed: {e}");
                return;
            }
        };
        if let Err(e) = stream.write_all(&response.to_bytes()) {
            eprintln!("mxd: {peer}: write failed: {e}");
        }
        if self.log_requests {
            println!("{peer} {line} {}", response.status);
        }
    }
}

/// Reads up to the blank line ending the request head. `Ok(None)` if the
/// peer sent nothing; `InvalidData` if the head is too large or not UTF-8.
fn read_head(stream: &mut TcpStream) -> io::Result<Option<String>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            // Peer closed early: parse what arrived (probably an error).
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = http::find_head_end(&buf) {
            buf.truncate(end);
            break;
        }
        if buf.len() > http::MAX_HEAD_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request head too large",
            ));
        }
    }
    if buf.is_empty() {
        return Ok(None);
    }
    String::from_utf8(buf)
        .map(Some)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "request head is not UTF-8"))
}

/// Minimal HTTP client for `--selftest`: GETs `path` from `addr` and returns
/// the status code and body.
pub fn http_get(addr: SocketAddr, path: &str) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
        .map_err(|e| format!("connect to {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .and_then(|_| stream.set_write_timeout(Some(IO_TIMEOUT)))
        .map_err(|e| format!("set timeouts: {e}"))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("send to {addr}: {e}"))?;
    // The server always closes after one response, so read to EOF.
    let mut raw = String::new();
    stream
        .read_to_string(&mut raw)
        .map_err(|e| format!("read from {addr}: {e}"))?;
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("incomplete response from {addr}: {raw:?}"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line from {addr}: {head:?}"))?;
    Ok((status, body.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mxd_core::http::Response;

    /// The response a route gives, without a socket.
    fn respond(server: &Server, method: &str, path: &str) -> Response {
        let ctx = Context {
            server_name: &server.server_name,
            version: VERSION,
            requests_served: 1,
        };
        server.router.handle(method, path, &ctx)
    }

    fn loopback_server() -> SocketAddr {
        let server = Server::new("test.local".to_string(), false);
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        server.spawn(listener);
        addr
    }

    #[test]
    fn serves_over_tcp() {
        let addr = loopback_server();
        let (status, body) = http_get(addr, "/_mxd/health").unwrap();
        assert_eq!(status, 200);
        assert_eq!(body, r#"{"server_name":"test.local","status":"ok"}"#);

        let (status, body) = http_get(addr, "/_matrix/client/versions").unwrap();
        assert_eq!(status, 200);
        assert!(body.contains("\"versions\""));

        let (status, _) = http_get(addr, "/nope").unwrap();
        assert_eq!(status, 404);
    }

    #[test]
    fn answers_garbage_with_400() {
        let addr = loopback_server();
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(b"hello\r\n\r\n").unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        assert!(raw.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{raw}");
    }

    #[test]
    fn version_is_passed_to_routes() {
        let server = Server::new("x".to_string(), false);
        let resp = respond(&server, "GET", "/_matrix/federation/v1/version");
        if cfg!(feature = "federation") {
            assert!(resp.body.contains(&format!("\"version\":\"{VERSION}\"")));
        } else {
            assert_eq!(resp.status, 404);
        }
    }
}
