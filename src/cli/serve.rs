//! A static file server for the app: loopback only, GET and HEAD, correct MIME types and the
//! security headers the page relies on (a Content-Security-Policy that allows its own origin
//! only). It computes nothing: training and prediction happen in the browser.
//!
//! Every response carries an `ETag` (the file's length and modification time) and
//! `Cache-Control: no-cache`: the browser keeps its copy and revalidates it, and an unchanged
//! file costs a `304 Not Modified` without a body. When the browser accepts gzip and the build
//! wrote a `.gz` sibling at least as new as the file (`build.sh` does, for the wasm module, the
//! scripts, the styles and the dataset), the sibling is sent with `Content-Encoding: gzip`.

use std::fs::Metadata;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use purrceptron::{Error, Result};

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

/// The request headers the server acts on.
#[derive(Debug, Default, PartialEq)]
struct Ask {
    /// `If-None-Match`: the validators of the copies the browser holds.
    if_none_match: Option<String>,
    /// `Accept-Encoding` lists gzip (with a non-zero weight).
    gzip: bool,
}

impl Ask {
    /// Reads one header line (`Name: value`); the others are ignored.
    fn header(&mut self, line: &str) {
        let Some((name, value)) = line.split_once(':') else {
            return;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("if-none-match") {
            self.if_none_match = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("accept-encoding") {
            self.gzip = value.split(',').any(|coding| {
                let mut parts = coding.split(';').map(str::trim);
                let name = parts.next().unwrap_or("");
                let refused = parts.any(|p| p.replace(' ', "").eq_ignore_ascii_case("q=0"));
                (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
            });
        }
    }

    /// True when the browser's copy is `etag` (or any copy, `*`).
    fn has(&self, etag: &str) -> bool {
        self.if_none_match
            .as_deref()
            .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    }
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

/// Writes a response; `body` `None` is a `304 Not Modified` (no body, no length).
fn respond(
    stream: &mut TcpStream,
    status: &str,
    mime: &str,
    body: Option<&[u8]>,
    head: bool,
    extra: &[(&str, &str)],
) -> std::io::Result<()> {
    let mut header = format!("HTTP/1.1 {status}\r\nContent-Type: {mime}\r\n");
    if let Some(body) = body {
        header.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    for (name, value) in extra {
        header.push_str(&format!("{name}: {value}\r\n"));
    }
    header.push_str(&format!(
        "Content-Security-Policy: {CSP}\r\nX-Content-Type-Options: nosniff\r\n\
         Referrer-Policy: no-referrer\r\nCross-Origin-Opener-Policy: same-origin\r\n\
         Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
    ));
    stream.write_all(header.as_bytes())?;
    if let (Some(body), false) = (body, head) {
        stream.write_all(body)?;
    }
    stream.flush()
}

/// A file under `root` for `target`: 200 with it (or its gzip sibling), 304 when the browser
/// already has it, 404 if there is none.
fn send_file(
    stream: &mut TcpStream,
    root: &Path,
    target: &str,
    ask: &Ask,
    head: bool,
) -> std::io::Result<()> {
    let not_found = |stream: &mut TcpStream| {
        respond(
            stream,
            "404 Not Found",
            "text/plain",
            Some(b"not found\n"),
            head,
            &[],
        )
    };
    let Some(path) = resolve(root, target) else {
        return respond(
            stream,
            "400 Bad Request",
            "text/plain",
            Some(b"bad path\n"),
            head,
            &[],
        );
    };
    let Some((file, meta, gzip)) = pick(&path, ask.gzip) else {
        return not_found(stream);
    };
    let tag = etag(&meta, gzip);
    let mut extra = vec![("ETag", tag.as_str()), ("Vary", "Accept-Encoding")];
    if gzip {
        extra.push(("Content-Encoding", "gzip"));
    }
    if ask.has(&tag) {
        return respond(
            stream,
            "304 Not Modified",
            mime_type(&path),
            None,
            head,
            &extra,
        );
    }
    match std::fs::read(&file) {
        Ok(body) => respond(
            stream,
            "200 OK",
            mime_type(&path),
            Some(&body),
            head,
            &extra,
        ),
        Err(_) => not_found(stream),
    }
}

fn handle(root: &Path, mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?.take(16 * 1024));
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // The headers it acts on; the body of a GET is ignored.
    let mut ask = Ask::default();
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        ask.header(&line);
        line.clear();
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let head = method == "HEAD";
    if method != "GET" && !head {
        return respond(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain",
            Some(b"GET or HEAD only\n"),
            head,
            &[],
        );
    }
    send_file(&mut stream, root, target, &ask, head)
}

/// Binds `127.0.0.1:port` (0 picks a free port) and returns the listener and its address.
pub fn bind(port: u16) -> Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
        .map_err(|e| Error::io(format!("127.0.0.1:{port}"), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io(format!("127.0.0.1:{port}"), e))?;
    Ok((listener, addr))
}

/// Serves files under `root` forever, one thread per connection.
pub fn serve(listener: TcpListener, root: PathBuf) -> Result<()> {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let root = root.clone();
        std::thread::spawn(move || {
            let _ = handle(&root, stream);
        });
    }
    Ok(())
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
    fn request_headers_are_read() {
        let mut ask = Ask::default();
        ask.header("Accept-Encoding: gzip, deflate, br, zstd\r\n");
        ask.header("if-none-match: \"a-1\", \"b-2\"\r\n");
        ask.header("Host: 127.0.0.1\r\n");
        assert!(ask.gzip);
        assert!(ask.has("\"b-2\""));
        assert!(!ask.has("\"c-3\""));
        for refused in ["gzip;q=0", "br", "identity", "gzip; q=0, br"] {
            let mut ask = Ask::default();
            ask.header(&format!("Accept-Encoding: {refused}"));
            assert!(!ask.gzip, "{refused}");
        }
        let mut ask = Ask::default();
        ask.header("If-None-Match: *");
        assert!(ask.has("\"anything\""));
        assert!(!Ask::default().has("\"a-1\""));
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
            .set_modified(std::time::SystemTime::now() + Duration::from_secs(5))
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
