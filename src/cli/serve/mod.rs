//! A static file server for the app: loopback only, GET and HEAD, and the headers of
//! [`files`]. It computes nothing: training and prediction happen in the browser.
//!
//! Connections are kept alive, and the server's threads are bounded whatever the clients do:
//! one thread waits on every open connection at once (`mio`, over epoll), and a fixed pool of
//! [`WORKERS`] threads answers the requests that have fully arrived. An idle connection costs
//! a socket and a few bytes, not a thread, so a burst of idle connections cannot starve the
//! requests that do arrive; past [`MAX_CONNECTIONS`] the longest-idle connection is closed to
//! make room, and connections idle for [`IDLE`] are closed.

mod files;
mod request;

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use purrceptron::{Error, Result};

use files::{answer, Response};
use request::{head_end, Request, MAX_HEAD};

/// Threads answering requests (the page loads a dozen small files at once, and a browser opens
/// six connections to one host).
pub const WORKERS: usize = 4;
/// Open connections at most; well under the usual limit of 1,024 open files per process.
pub const MAX_CONNECTIONS: usize = 512;
/// A connection with no request for this long is closed.
pub const IDLE: Duration = Duration::from_secs(15);
/// How long writing one answer may stall before the connection is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);

/// An open connection and the bytes of its next request received so far.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    last: Instant,
}

/// Binds `127.0.0.1:port` (0 picks a free port) and returns the listener and its address.
pub fn bind(port: u16) -> Result<(std::net::TcpListener, SocketAddr)> {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
        .map_err(|e| Error::io(format!("127.0.0.1:{port}"), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io(format!("127.0.0.1:{port}"), e))?;
    Ok((listener, addr))
}

/// Serves files under `root` until the process ends. `log`: one line per answer on stderr:
/// method, target, status code, bytes of the head, bytes of the body.
pub fn serve(listener: std::net::TcpListener, root: PathBuf, log: bool) -> Result<()> {
    let io = |e| Error::io("the server", e);
    listener.set_nonblocking(true).map_err(io)?;
    let mut listener = TcpListener::from_std(listener);
    let mut poll = Poll::new().map_err(io)?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .map_err(io)?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(io)?);

    // Requests go to the pool with their connection; kept-alive connections come back.
    let (jobs, queue) = mpsc::channel::<Conn>();
    let queue = Arc::new(Mutex::new(queue));
    let (back, returned) = mpsc::channel::<Conn>();
    let root = Arc::new(root);
    for _ in 0..WORKERS {
        let (queue, back, waker, root) = (queue.clone(), back.clone(), waker.clone(), root.clone());
        std::thread::spawn(move || work(&queue, &back, &waker, &root, log));
    }

    let mut conns = Conns {
        open: HashMap::new(),
        next: 2,
    };
    let mut events = Events::with_capacity(256);
    loop {
        if let Err(e) = poll.poll(&mut events, Some(Duration::from_secs(1))) {
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(io(e));
        }
        // Every wake-up, not only on the listener's event: an accept that failed (a connection
        // reset while it waited, no file descriptor left) leaves the others queued, and the
        // listener, edge-triggered, would not report them again.
        accept(&listener, &poll, &mut conns);
        for event in &events {
            match event.token() {
                LISTENER => {}
                WAKER => {
                    for conn in returned.try_iter() {
                        conns.admit(&poll, conn);
                    }
                }
                token => {
                    let Some(conn) = conns.open.get_mut(&token) else {
                        continue;
                    };
                    match receive(conn) {
                        Received::More => {}
                        // Dropping a connection closes it.
                        Received::Closed => drop(conns.take(&poll, token)),
                        Received::Request => {
                            if let Some(c) = conns.take(&poll, token) {
                                if jobs.send(c).is_err() {
                                    return Err(io(std::io::Error::other("the workers stopped")));
                                }
                            }
                        }
                    }
                }
            }
        }
        // Idle connections are closed (dropping a connection closes it).
        let now = Instant::now();
        conns.open.retain(|_, c| now.duration_since(c.last) < IDLE);
    }
}

/// The connections the waiting thread holds, by token.
struct Conns {
    open: HashMap<Token, Conn>,
    /// The next token (0 and 1 are the listener's and the waker's).
    next: usize,
}

impl Conns {
    /// Watches `conn` (a new one, or one a worker handed back): past [`MAX_CONNECTIONS`] the
    /// longest-idle one is closed to make room. Registering reports bytes that are already
    /// waiting (epoll does).
    fn admit(&mut self, poll: &Poll, mut conn: Conn) {
        if self.open.len() >= MAX_CONNECTIONS {
            let oldest = self
                .open
                .iter()
                .min_by_key(|(_, c)| c.last)
                .map(|(t, _)| *t);
            if let Some(t) = oldest {
                drop(self.take(poll, t));
            }
        }
        let token = Token(self.next);
        self.next += 1;
        if poll
            .registry()
            .register(&mut conn.stream, token, Interest::READABLE)
            .is_ok()
        {
            self.open.insert(token, conn);
        }
    }

    /// Stops watching the connection of `token` and returns it.
    fn take(&mut self, poll: &Poll, token: Token) -> Option<Conn> {
        let mut c = self.open.remove(&token)?;
        let _ = poll.registry().deregister(&mut c.stream);
        Some(c)
    }
}

/// Accepts every waiting connection.
fn accept(listener: &TcpListener, poll: &Poll, conns: &mut Conns) {
    loop {
        match listener.accept() {
            Ok((stream, _)) => conns.admit(
                poll,
                Conn {
                    stream,
                    buf: Vec::new(),
                    last: Instant::now(),
                },
            ),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            // A connection reset before it was accepted: the next one.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::Interrupted | ErrorKind::ConnectionAborted
                ) => {}
            // Out of file descriptors: the next wake-up (at most a second away) tries again.
            Err(_) => return,
        }
    }
}

enum Received {
    /// The head has not all arrived.
    More,
    /// The peer closed the connection, or it failed.
    Closed,
    /// A whole head (or more than [`MAX_HEAD`] bytes, to refuse) is in the buffer.
    Request,
}

/// Reads what the connection has sent (it is edge-triggered: until it would block).
fn receive(conn: &mut Conn) -> Received {
    let mut chunk = [0u8; 4096];
    loop {
        match conn.stream.read(&mut chunk) {
            Ok(0) => return Received::Closed,
            Ok(n) => {
                conn.buf.extend_from_slice(&chunk[..n]);
                conn.last = Instant::now();
                if head_end(&conn.buf).is_some() || conn.buf.len() > MAX_HEAD {
                    return Received::Request;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Received::More,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Received::Closed,
        }
    }
}

/// A worker: answers the requests of each connection it is given (several when they were sent
/// back to back), then hands a kept-alive connection back to the waiting thread.
fn work(queue: &Mutex<Receiver<Conn>>, back: &Sender<Conn>, waker: &Waker, root: &Path, log: bool) {
    loop {
        let Ok(conn) = queue
            .lock()
            .map_err(|_| ())
            .and_then(|q| q.recv().map_err(|_| ()))
        else {
            return;
        };
        if let Some(conn) = answer_all(conn, root, log) {
            if back.send(conn).is_err() || waker.wake().is_err() {
                return;
            }
        }
    }
}

/// Answers every complete request in the connection's buffer; returns the connection if it
/// stays open.
fn answer_all(conn: Conn, root: &Path, log: bool) -> Option<Conn> {
    let Conn {
        stream, mut buf, ..
    } = conn;
    let mut stream = std::net::TcpStream::from(stream);
    stream.set_nonblocking(false).ok()?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT)).ok()?;
    loop {
        let (response, keep_alive, method, target) = match head_end(&buf) {
            None if buf.len() > MAX_HEAD => (Response::head_too_large(), false, None, None),
            Some(end) if end > MAX_HEAD => (Response::head_too_large(), false, None, None),
            None => break,
            Some(end) => {
                let head: Vec<u8> = buf.drain(..end).collect();
                match Request::parse(&head) {
                    Some(request) => (
                        answer(root, &request),
                        request.keep_alive,
                        Some(request.method),
                        Some(request.target),
                    ),
                    None => (Response::bad_request(), false, None, None),
                }
            }
        };
        let head = response.head(keep_alive);
        let send_body = method.as_deref() != Some("HEAD");
        let mut body_bytes = 0;
        let mut ok = stream.write_all(&head).is_ok();
        if let (Some(body), true, true) = (&response.body, send_body, ok) {
            ok = stream.write_all(body).is_ok();
            body_bytes = body.len();
        }
        if log {
            eprintln!(
                "{} {} {} {} {body_bytes}",
                method.as_deref().unwrap_or("-"),
                target.as_deref().unwrap_or("-"),
                response.code(),
                head.len()
            );
        }
        if !ok || !keep_alive {
            return None;
        }
    }
    stream.set_nonblocking(true).ok()?;
    Some(Conn {
        stream: TcpStream::from_std(stream),
        buf,
        last: Instant::now(),
    })
}
