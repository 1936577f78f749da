//! The answer to a request: the file under the root it names, with its MIME type, validator and
//! encoding, and the security headers the page relies on (a Content-Security-Policy that allows
//! its own origin only).
//!
//! Every response carries an `ETag` (the file's length and modification time) and
//! `Cache-Control: no-cache`: the browser keeps its copy and revalidates it, and an unchanged
//! file costs a `304 Not Modified` without a body. When the browser accepts gzip and the build
//! wrote a `.gz` sibling at least as new as the file (`build.sh` does, for the wasm module, the
//! scripts, the styles and the dataset), the sibling is sent with `Content-Encoding: gzip`.

use std::fs::Metadata;
use std::path::{Component, Path, PathBuf};

use super::request::Request;

/// The page's Content-Security-Policy: everything from its own origin, nothing from elsewhere.
/// `wasm-unsafe-eval` lets it compile WebAssembly; `blob:`/`data:` images show local photos.
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    worker-src 'self'; connect-src 'self'; img-src 'self' blob: data:; style-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// MIME type by file extension (lower case); `application/octet-stream` otherwise.
pub fn mime_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "webmanifest") => "application/json",
        Some("wasm") => "application/wasm",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("ico") => "image/x-icon",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Maps a request target to a file under `root`, refusing anything that would leave it.
fn resolve(root: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next().unwrap_or("");
    let path = percent_decode(path)?;
    let mut out = root.to_path_buf();
    for c in Path::new(path.trim_start_matches('/')).components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if out.is_dir() {
        out.push("index.html");
    }
    Some(out)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let s = String::from_utf8(out).ok()?;
    (!s.contains('\0')).then_some(s)
}

/// The file to send for `path`: its `.gz` sibling when gzip is accepted and the sibling is at
/// least as new (a file edited after the build is sent as it is), else the file itself.
/// Returns the file, its metadata and whether it is the gzip sibling; `None` if `path` is not a
/// file.
fn pick(path: &Path, gzip: bool) -> Option<(PathBuf, Metadata, bool)> {
    let meta = std::fs::metadata(path).ok().filter(Metadata::is_file)?;
    if gzip {
        let mut name = path.as_os_str().to_owned();
        name.push(".gz");
        let gz = PathBuf::from(name);
        if let Ok(m) = std::fs::metadata(&gz) {
            let fresh = match (m.modified(), meta.modified()) {
                (Ok(a), Ok(b)) => a >= b,
                _ => false,
            };
            if m.is_file() && fresh {
                return Some((gz, m, true));
            }
        }
    }
    Some((path.to_path_buf(), meta, false))
}

/// A validator that changes whenever the file does: its length and modification time, and the
/// encoding (the gzip sibling is another representation).
fn etag(meta: &Metadata, gzip: bool) -> String {
    let nanos = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!(
        "\"{:x}-{nanos:x}{}\"",
        meta.len(),
        if gzip { "-gz" } else { "" }
    )
}

/// An answer: its status line, type, headers and body (`None`: a `304`, which has none).
#[derive(Debug)]
pub struct Response {
    pub status: &'static str,
    pub mime: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Vec<u8>>,
}

impl Response {
    fn text(status: &'static str, text: &str) -> Response {
        Response {
            status,
            mime: "text/plain; charset=utf-8",
            headers: Vec::new(),
            body: Some(text.as_bytes().to_vec()),
        }
    }

    /// `400` for a request line that is not HTTP/1.x.
    pub fn bad_request() -> Response {
        Response::text("400 Bad Request", "bad request\n")
    }

    /// `431` for a request head over [`super::request::MAX_HEAD`] bytes.
    pub fn head_too_large() -> Response {
        Response::text(
            "431 Request Header Fields Too Large",
            "request head too large\n",
        )
    }

    /// The status code, for the log.
    pub fn code(&self) -> &str {
        self.status.split(' ').next().unwrap_or("")
    }

    /// The status line and headers, ending with the blank line. `keep_alive`: whether the
    /// connection stays open for another request.
    pub fn head(&self, keep_alive: bool) -> Vec<u8> {
        let mut h = format!(
            "HTTP/1.1 {}\r\nContent-Type: {}\r\n",
            self.status, self.mime
        );
        if let Some(body) = &self.body {
            h.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        for (name, value) in &self.headers {
            h.push_str(&format!("{name}: {value}\r\n"));
        }
        h.push_str(&format!(
            "Content-Security-Policy: {CSP}\r\nX-Content-Type-Options: nosniff\r\n\
             Referrer-Policy: no-referrer\r\nCross-Origin-Opener-Policy: same-origin\r\n\
             Cache-Control: no-cache\r\nConnection: {}\r\n\r\n",
            if keep_alive { "keep-alive" } else { "close" }
        ));
        h.into_bytes()
    }
}

/// The answer to `request` from the files under `root`: 200 with the file (or its gzip
/// sibling), 304 when the browser already has it, 404 if there is none, 400 for a path that
/// would leave the root, 405 for a method other than GET and HEAD.
pub fn answer(root: &Path, request: &Request) -> Response {
    if request.method != "GET" && request.method != "HEAD" {
        let mut r = Response::text("405 Method Not Allowed", "GET or HEAD only\n");
        r.headers.push(("Allow", "GET, HEAD".into()));
        return r;
    }
    let Some(path) = resolve(root, &request.target) else {
        return Response::text("400 Bad Request", "bad path\n");
    };
    let Some((file, meta, gzip)) = pick(&path, request.gzip) else {
        return Response::text("404 Not Found", "not found\n");
    };
    let tag = etag(&meta, gzip);
    let mut headers = vec![("Vary", "Accept-Encoding".into())];
    if gzip {
        headers.push(("Content-Encoding", "gzip".into()));
    }
    let fresh = request.has(&tag);
    headers.insert(0, ("ETag", tag));
    let mime = mime_type(&path);
    if fresh {
        return Response {
            status: "304 Not Modified",
            mime,
            headers,
            body: None,
        };
    }
    match std::fs::read(&file) {
        Ok(body) => Response {
            status: "200 OK",
            mime,
            headers,
            body: Some(body),
        },
        Err(_) => Response::text("404 Not Found", "not found\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_root() {
        let root = Path::new("/srv/www");
        assert_eq!(
            resolve(root, "/a/b.js?x=1"),
            Some(PathBuf::from("/srv/www/a/b.js"))
        );
        assert_eq!(resolve(root, "/../etc/passwd"), None);
        assert_eq!(resolve(root, "/%2e%2e/etc/passwd"), None);
        assert_eq!(resolve(root, "/a/%2e%2e/%2e%2e/x"), None);
        assert_eq!(resolve(root, "/a%00b"), None);
        assert_eq!(resolve(root, "/%zz"), None);
    }

    #[test]
    fn gzip_siblings_are_sent_only_when_fresh_and_accepted() {
        let dir = std::env::temp_dir().join(format!("purrceptron-serve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let js = dir.join("a.js");
        let gz = dir.join("a.js.gz");
        std::fs::write(&js, "let a = 1;\n").unwrap();
        std::fs::write(&gz, b"\x1f\x8b...").unwrap();
        // The sibling is newer: sent when gzip is accepted, with its own validator.
        let (f, m, z) = pick(&js, true).unwrap();
        assert_eq!((f, z), (gz.clone(), true));
        assert!(etag(&m, z).ends_with("-gz\""));
        assert_eq!(pick(&js, false).unwrap().0, js);
        // The file edited after the build: the stale sibling is not sent.
        let later = std::fs::File::options().write(true).open(&js).unwrap();
        later
            .set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
            .unwrap();
        assert_eq!(pick(&js, true).unwrap().0, js);
        assert_ne!(
            etag(&std::fs::metadata(&js).unwrap(), false),
            etag(&m, true)
        );
        assert!(pick(&dir.join("missing.js"), true).is_none());
        assert!(pick(&dir, true).is_none());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn answers_carry_their_status_validator_and_headers() {
        let dir = std::env::temp_dir().join(format!("purrceptron-answer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), "<!doctype html>\n").unwrap();
        let ask = |method: &str, target: &str, etag: Option<&str>| {
            let mut head = format!("{method} {target} HTTP/1.1\r\n");
            if let Some(tag) = etag {
                head.push_str(&format!("If-None-Match: {tag}\r\n"));
            }
            answer(
                &dir,
                &Request::parse(format!("{head}\r\n").as_bytes()).unwrap(),
            )
        };
        let ok = ask("GET", "/", None);
        assert_eq!(ok.status, "200 OK");
        assert_eq!(ok.body.as_deref(), Some(&b"<!doctype html>\n"[..]));
        let (_, tag) = ok.headers.iter().find(|(n, _)| *n == "ETag").unwrap();
        let same = ask("GET", "/index.html", Some(tag));
        assert_eq!(
            (same.status, same.body.is_none()),
            ("304 Not Modified", true)
        );
        assert_eq!(ask("GET", "/index.html", Some("\"0-0\"")).status, "200 OK");
        assert_eq!(ask("GET", "/missing.js", None).status, "404 Not Found");
        assert_eq!(ask("GET", "/../x", None).status, "400 Bad Request");
        let post = ask("POST", "/", None);
        assert_eq!(post.code(), "405");
        assert!(post.headers.contains(&("Allow", "GET, HEAD".into())));
        // The head: length, the page's security headers and whether the connection stays open.
        let head = String::from_utf8(ok.head(true)).unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"));
        assert!(head.contains("Content-Length: 16\r\n"));
        assert!(head.contains(&format!("Content-Security-Policy: {CSP}\r\n")));
        assert!(head.ends_with("Connection: keep-alive\r\n\r\n"));
        let closing = String::from_utf8(same.head(false)).unwrap();
        assert!(!closing.contains("Content-Length"));
        assert!(closing.ends_with("Connection: close\r\n\r\n"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn wasm_has_its_mime_type() {
        assert_eq!(
            mime_type(Path::new("pkg/purrceptron_bg.wasm")),
            "application/wasm"
        );
        assert_eq!(
            mime_type(Path::new("main.JS")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            mime_type(Path::new("data/x.safetensors")),
            "application/octet-stream"
        );
    }
}
