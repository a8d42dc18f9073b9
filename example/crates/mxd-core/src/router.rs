//! Maps `(method, path)` to a handler. Which routes exist depends on the
//! cargo features this build was compiled with.

use crate::features;
use crate::http::{Request, Response};
use crate::json;

/// Per-request information handlers may use. Built by the server so the
/// handlers themselves stay pure.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub server_name: &'a str,
    /// The `mxd` version string, reported by the federation version route.
    pub version: &'a str,
    /// Requests handled so far, including the current one.
    pub requests_served: u64,
}

/// A handler turns the request context into a complete response.
pub type Handler = fn(&Context<'_>) -> Response;

#[derive(Debug, Clone)]
struct Route {
    method: &'static str,
    path: &'static str,
    handler: Handler,
}

/// An exact-match routing table. Exact paths are all this API needs, and
/// they keep lookups obvious.
#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    /// An empty router: every request gets the 404 response.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a route; on duplicates the first registration wins.
    pub fn route(
        &mut self,
        method: &'static str,
        path: &'static str,
        handler: Handler,
    ) -> &mut Self {
        self.routes.push(Route {
            method,
            path,
            handler,
        });
        self
    }

    /// The routes `mxd` serves in this build.
    pub fn mxd() -> Self {
        let mut router = Router::new();
        router
            .route("GET", "/_matrix/client/versions", client_versions)
            .route("GET", "/_mxd/health", health);
        #[cfg(feature = "media")]
        router.route("GET", "/_matrix/media/v3/config", media_config);
        #[cfg(feature = "federation")]
        router.route("GET", "/_matrix/federation/v1/version", federation_version);
        #[cfg(feature = "metrics")]
        router.route("GET", "/_mxd/metrics", metrics);
        router
    }

    /// The `(method, path)` pairs served, in registration order.
    pub fn routes(&self) -> Vec<(&'static str, &'static str)> {
        self.routes.iter().map(|r| (r.method, r.path)).collect()
    }

    /// Response for `method` on `path` (query string already removed).
    pub fn handle(&self, method: &str, path: &str, ctx: &Context<'_>) -> Response {
        match self
            .routes
            .iter()
            .find(|r| r.method == method && r.path == path)
        {
            Some(route) => (route.handler)(ctx),
            None => not_found(),
        }
    }

    /// Response for a parsed request.
    pub fn dispatch(&self, req: &Request, ctx: &Context<'_>) -> Response {
        self.handle(&req.method, req.path(), ctx)
    }
}

/// The Matrix spec's answer to an unknown endpoint.
pub fn not_found() -> Response {
    Response::json(404, json::error("M_UNRECOGNIZED", "Unrecognized request"))
}

/// Answer to a request head that could not be parsed.
pub fn bad_request() -> Response {
    Response::json(400, json::error("M_UNRECOGNIZED", "Malformed request"))
}

fn client_versions(_: &Context<'_>) -> Response {
    Response::json(200, json::client_versions(&features::states()))
}

fn health(ctx: &Context<'_>) -> Response {
    Response::json(
        200,
        json::object(&[
            ("server_name", json::string(ctx.server_name)),
            ("status", json::string("ok")),
        ]),
    )
}

#[cfg(feature = "media")]
fn media_config(_: &Context<'_>) -> Response {
    /// 50 MiB, the upload limit advertised to clients.
    const UPLOAD_SIZE: u64 = 50 * 1024 * 1024;
    Response::json(
        200,
        json::object(&[("m.upload.size", UPLOAD_SIZE.to_string())]),
    )
}

#[cfg(feature = "federation")]
fn federation_version(ctx: &Context<'_>) -> Response {
    let server = json::object(&[
        ("name", json::string("mxd")),
        ("version", json::string(ctx.version)),
    ]);
    Response::json(200, json::object(&[("server", server)]))
}

#[cfg(feature = "metrics")]
fn metrics(ctx: &Context<'_>) -> Response {
    // Prometheus text exposition format, so standard scrapers can read it.
    Response::text(
        200,
        format!(
            "# TYPE mxd_requests_total counter\nmxd_requests_total {}\n",
            ctx.requests_served
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::parse_request;

    const CTX: Context<'static> = Context {
        server_name: "hs1",
        version: "9.9.9-test",
        requests_served: 7,
    };

    fn get(path: &str) -> Response {
        Router::mxd().handle("GET", path, &CTX)
    }

    #[test]
    fn serves_client_versions() {
        let resp = get("/_matrix/client/versions");
        assert_eq!(resp.status, 200);
        assert_eq!(resp.content_type, "application/json");
        assert!(resp.body.starts_with(r#"{"versions":["v1.1","#));
        assert!(resp.body.contains(r#""v1.11"]"#));
        for (name, on) in features::states() {
            assert!(resp.body.contains(&format!("\"org.mxd.{name}\":{on}")));
        }
    }

    #[test]
    fn serves_health_with_escaped_server_name() {
        let ctx = Context {
            server_name: "a\"b",
            ..CTX
        };
        let resp = Router::mxd().handle("GET", "/_mxd/health", &ctx);
        assert_eq!(resp.status, 200);
        assert_eq!(resp.body, r#"{"server_name":"a\"b","status":"ok"}"#);
    }

    #[test]
    fn unknown_paths_and_methods_are_404() {
        for (method, path) in [("GET", "/nope"), ("POST", "/_mxd/health"), ("GET", "/")] {
            let resp = Router::mxd().handle(method, path, &CTX);
            assert_eq!(resp, not_found(), "{method} {path}");
        }
        assert_eq!(
            not_found().body,
            r#"{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}"#
        );
    }

    #[test]
    fn dispatch_ignores_query_string() {
        let req = parse_request("GET /_mxd/health?verbose=1 HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(Router::mxd().dispatch(&req, &CTX).status, 200);
    }

    #[test]
    fn empty_router_serves_nothing() {
        assert_eq!(
            Router::new().handle("GET", "/_mxd/health", &CTX),
            not_found()
        );
    }

    #[test]
    fn route_table_follows_features() {
        let routes = Router::mxd().routes();
        let has = |p: &str| routes.contains(&("GET", p));
        assert!(has("/_matrix/client/versions"));
        assert!(has("/_mxd/health"));
        assert_eq!(has("/_matrix/media/v3/config"), cfg!(feature = "media"));
        assert_eq!(
            has("/_matrix/federation/v1/version"),
            cfg!(feature = "federation")
        );
        assert_eq!(has("/_mxd/metrics"), cfg!(feature = "metrics"));
    }

    #[cfg(feature = "media")]
    #[test]
    fn media_config_reports_upload_size() {
        let resp = get("/_matrix/media/v3/config");
        assert_eq!(resp.status, 200);
        assert_eq!(resp.body, r#"{"m.upload.size":52428800}"#);
    }

    #[cfg(feature = "federation")]
    #[test]
    fn federation_version_reports_passed_version() {
        let resp = get("/_matrix/federation/v1/version");
        assert_eq!(resp.status, 200);
        assert_eq!(
            resp.body,
            r#"{"server":{"name":"mxd","version":"9.9.9-test"}}"#
        );
    }

    #[cfg(feature = "metrics")]
    #[test]
    fn metrics_report_request_count() {
        let resp = get("/_mxd/metrics");
        assert_eq!(resp.status, 200);
        assert!(resp.content_type.starts_with("text/plain"));
        assert!(resp.body.contains("\nmxd_requests_total 7\n"));
    }
}
