//! An HTTP/1.x request head, read from the bytes a connection sent: the method, the target and
//! the few headers the server acts on. The body of a GET or HEAD is not read (it has none).

/// The largest request head accepted, in bytes; a longer one is refused with 431.
pub const MAX_HEAD: usize = 16 * 1024;

/// Where the head ends in `buf` (the index just past its blank line), or `None` if it has not
/// all arrived yet. A bare `\n\n` ends it too, as RFC 9112 lets a server accept.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A parsed request head.
#[derive(Debug, Default, PartialEq)]
pub struct Request {
    pub method: String,
    pub target: String,
    /// The connection stays open after the answer: HTTP/1.1 unless `Connection: close`,
    /// HTTP/1.0 only with `Connection: keep-alive`.
    pub keep_alive: bool,
    /// `If-None-Match`: the validators of the copies the browser holds.
    pub if_none_match: Option<String>,
    /// `Accept-Encoding` lists gzip (or `*`) with a non-zero weight.
    pub gzip: bool,
}

impl Request {
    /// Parses a head (as delimited by [`head_end`]); `None` when the request line is not
    /// `METHOD TARGET HTTP/1.x`.
    pub fn parse(head: &[u8]) -> Option<Request> {
        let text = String::from_utf8_lossy(head);
        let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
        let mut parts = lines.next()?.split(' ').filter(|p| !p.is_empty());
        let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || !target.starts_with('/') {
            return None;
        }
        let http11 = match version {
            "HTTP/1.1" => true,
            "HTTP/1.0" => false,
            _ => return None,
        };
        let mut request = Request {
            method: method.to_string(),
            target: target.to_string(),
            keep_alive: http11,
            ..Request::default()
        };
        for line in lines {
            request.header(line);
        }
        Some(request)
    }

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
        } else if name.eq_ignore_ascii_case("connection") {
            for option in value.split(',').map(str::trim) {
                if option.eq_ignore_ascii_case("close") {
                    self.keep_alive = false;
                } else if option.eq_ignore_ascii_case("keep-alive") {
                    self.keep_alive = true;
                }
            }
        }
    }

    /// True when the browser's copy is `etag` (or any copy, `*`).
    pub fn has(&self, etag: &str) -> bool {
        self.if_none_match
            .as_deref()
            .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Option<Request> {
        Request::parse(text.as_bytes())
    }

    #[test]
    fn heads_end_at_the_blank_line() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET"), Some(27));
        assert_eq!(head_end(b"GET / HTTP/1.1\n\n"), Some(16));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: a\r\n"), None);
        assert_eq!(head_end(b""), None);
    }

    #[test]
    fn request_lines_and_versions() {
        let r = parse("GET /a/b.js?x=1 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(
            (r.method.as_str(), r.target.as_str()),
            ("GET", "/a/b.js?x=1")
        );
        assert!(r.keep_alive);
        assert!(!parse("GET / HTTP/1.0\r\n\r\n").unwrap().keep_alive);
        assert!(
            parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
                .unwrap()
                .keep_alive
        );
        assert!(
            !parse("GET / HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n")
                .unwrap()
                .keep_alive
        );
        for bad in [
            "",
            "GET\r\n\r\n",
            "GET /\r\n\r\n",
            "GET / HTTP/2\r\n\r\n",
            "GET x HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1 extra\r\n\r\n",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn request_headers_are_read() {
        let r = parse(
            "GET / HTTP/1.1\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n\
             if-none-match: \"a-1\", \"b-2\"\r\nHost: 127.0.0.1\r\n\r\n",
        )
        .unwrap();
        assert!(r.gzip);
        assert!(r.has("\"b-2\""));
        assert!(!r.has("\"c-3\""));
        for refused in ["gzip;q=0", "br", "identity", "gzip; q=0, br"] {
            let r = parse(&format!(
                "GET / HTTP/1.1\r\nAccept-Encoding: {refused}\r\n\r\n"
            ));
            assert!(!r.unwrap().gzip, "{refused}");
        }
        let r = parse("GET / HTTP/1.1\r\nIf-None-Match: *\r\n\r\n").unwrap();
        assert!(r.has("\"anything\""));
        assert!(!parse("GET / HTTP/1.1\r\n\r\n").unwrap().has("\"a-1\""));
    }
}
