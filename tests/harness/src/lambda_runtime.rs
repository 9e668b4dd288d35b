//! A Lambda Runtime API emulator: runs a function's binary (a custom runtime, e.g. one built on
//! `lambda_runtime`) as a child process and hands it invocations through the HTTP API Lambda
//! serves it on AWS (`AWS_LAMBDA_RUNTIME_API`), so a test drives the deployed binary with real
//! events: configuration read at cold start, the handler, and how answers and errors
//! (`errorType`) are reported, exactly as Lambda sees them.
//!
//! Served under `/2018-06-01/runtime`: `GET invocation/next` (long poll; the payload with the
//! `Lambda-Runtime-Aws-Request-Id`, `-Deadline-Ms`, `-Invoked-Function-Arn` and `-Trace-Id`
//! headers), `POST invocation/{id}/response`, `POST invocation/{id}/error` and
//! `POST init/error`. Not emulated: response streaming, extensions, SnapStart.
//!
//! One emulator serves one function process, like one execution environment; the process is
//! killed with the emulator (and dies with the test process, see [`crate`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), backfill_harness::RuntimeApiError> {
//! use backfill_harness::{Invocation, RuntimeApi};
//! let mut api = RuntimeApi::start()?;
//! api.spawn_function("target/debug/status", [("BACKFILL_TABLE", "backfill")])?;
//! match api.invoke(&serde_json::json!({"deep_check": true})).await? {
//!     Invocation::Ok(answer) => println!("{answer}"),
//!     Invocation::Err { error_type, message } => println!("{error_type}: {message}"),
//! }
//! # Ok(()) }
//! ```
//!
//! (Over 600 lines: the Runtime API's routes, the child process's life and their tests' helpers
//! are one protocol; its unit tests are in `lambda_runtime/tests.rs`.)

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::process::{log_tail, ServerProcess};
use crate::HarnessError;

const API_PREFIX: &str = "/2018-06-01/runtime";
/// The account in invoked-function ARNs.
const ACCOUNT: &str = "123456789012";
/// How often a waiting caller looks at the function process.
const POLL: Duration = Duration::from_millis(25);

/// What one invocation returned.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// The function's answer (`POST …/response`).
    Ok(Value),
    /// The function reported an error (`POST …/error`): its `errorType` and `errorMessage`.
    Err { error_type: String, message: String },
}

impl Invocation {
    /// The answer; panics with the function's error otherwise.
    #[track_caller]
    pub fn expect_ok(self) -> Value {
        match self {
            Invocation::Ok(v) => v,
            Invocation::Err {
                error_type,
                message,
            } => panic!("the function failed: {error_type}: {message}"),
        }
    }

    /// The error's type and message; panics with the answer if the function succeeded.
    #[track_caller]
    pub fn expect_err(self) -> (String, String) {
        match self {
            Invocation::Err {
                error_type,
                message,
            } => (error_type, message),
            Invocation::Ok(v) => panic!("the function succeeded where an error was expected: {v}"),
        }
    }
}

/// What goes wrong around an invocation (a function that *reports* an error is an
/// [`Invocation::Err`], not one of these).
#[derive(Debug, thiserror::Error)]
pub enum RuntimeApiError {
    /// The function never got ready: it exited or reported `init/error` before asking for its
    /// first invocation, or took too long. `log_tail` is formatted (the process's output).
    #[error("Lambda function {function} did not initialise: {reason}\n  binary: {}\n  log: {}{log_tail}", binary.display(), log.display())]
    Init {
        function: String,
        binary: PathBuf,
        reason: String,
        log: PathBuf,
        log_tail: String,
    },

    /// An invocation got no answer: the process exited or timed out, or answered something
    /// that is not JSON.
    #[error("Lambda function {function}, invocation {request_id}: {reason}\n  log: {}{log_tail}", log.display())]
    Invoke {
        function: String,
        request_id: String,
        reason: String,
        log: PathBuf,
        log_tail: String,
    },

    #[error("no function process: call spawn_function first")]
    NoFunction,

    #[error(
        "this emulator already runs function {0}; start another RuntimeApi for another process"
    )]
    AlreadyRunning(String),

    #[error(transparent)]
    Harness(#[from] HarnessError),
}

/// A queued invocation, as `invocation/next` hands it out.
struct Queued {
    request_id: String,
    payload: Bytes,
    deadline_ms: u64,
    function_arn: String,
    trace_id: String,
    reply: oneshot::Sender<Outcome>,
}

enum Outcome {
    Response(Bytes),
    Error { error_type: String, message: String },
}

/// What the HTTP side shares with the handle.
struct Shared {
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Queued>>,
    /// Handed out, waiting for their `response` or `error`.
    in_flight: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    /// `init/error`: (errorType, errorMessage).
    init_error: Mutex<Option<(String, String)>>,
    /// `invocation/next` calls so far: the first one means init is done.
    next_calls: AtomicU64,
}

struct Function {
    name: String,
    arn: String,
    binary: PathBuf,
    process: ServerProcess,
}

/// The emulator: an HTTP server on a free loopback port (on a thread of its own, so it serves
/// whatever runtime the caller uses) and at most one function process.
pub struct RuntimeApi {
    address: SocketAddr,
    shared: Arc<Shared>,
    queue: mpsc::UnboundedSender<Queued>,
    init_timeout: Duration,
    invoke_timeout: Duration,
    function: Option<Function>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl RuntimeApi {
    /// How long a function may take from spawn to its first `invocation/next`.
    pub const INIT_TIMEOUT: Duration = Duration::from_secs(20);
    /// How long an invocation may take (the function's configured timeout, in Lambda terms).
    pub const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);

    /// Starts the server on 127.0.0.1 and a free port.
    pub fn start() -> Result<RuntimeApi, RuntimeApiError> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
            .map_err(|e| HarnessError::io("binding the Lambda Runtime API to 127.0.0.1:0", e))?;
        let address = listener
            .local_addr()
            .map_err(|e| HarnessError::io("reading the Runtime API's address", e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| HarnessError::io("setting the Runtime API's socket non-blocking", e))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| HarnessError::io("building the Runtime API's runtime", e))?;
        let (queue, queued) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue: tokio::sync::Mutex::new(queued),
            in_flight: Mutex::new(HashMap::new()),
            init_error: Mutex::new(None),
            next_calls: AtomicU64::new(0),
        });
        let (shutdown, stop) = oneshot::channel();
        let serving = shared.clone();
        let server = thread::Builder::new()
            .name(format!("lambda-runtime-api-{}", address.port()))
            .spawn(move || runtime.block_on(serve(listener, serving, stop)))
            .map_err(|e| HarnessError::io("starting the Runtime API's thread", e))?;
        Ok(RuntimeApi {
            address,
            shared,
            queue,
            init_timeout: Self::INIT_TIMEOUT,
            invoke_timeout: Self::INVOKE_TIMEOUT,
            function: None,
            shutdown: Some(shutdown),
            server: Some(server),
        })
    }

    /// Changes the init and invocation timeouts.
    pub fn with_timeouts(mut self, init: Duration, invoke: Duration) -> RuntimeApi {
        self.init_timeout = init;
        self.invoke_timeout = invoke;
        self
    }

    /// `127.0.0.1:<port>`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The function's name (`AWS_LAMBDA_FUNCTION_NAME`), once spawned.
    pub fn function_name(&self) -> Option<&str> {
        self.function.as_ref().map(|f| f.name.as_str())
    }

    /// The function process's stdout and stderr (removed on drop unless a test is failing).
    pub fn log_path(&self) -> Option<&Path> {
        self.function.as_ref().map(|f| f.process.log_path())
    }

    /// Runs `binary` as the function, with a clean environment: what Lambda sets for a custom
    /// runtime (`AWS_LAMBDA_RUNTIME_API` pointing here, `AWS_LAMBDA_FUNCTION_NAME` = the
    /// binary's name, memory 128, version `$LATEST`, `AWS_REGION` us-east-1, …), then `env`,
    /// which wins. Returns once the function asks for its first invocation; an init failure is
    /// an error carrying the end of the process's output.
    pub fn spawn_function<I, K, V>(
        &mut self,
        binary: impl AsRef<Path>,
        env: I,
    ) -> Result<(), RuntimeApiError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        if let Some(f) = &self.function {
            return Err(RuntimeApiError::AlreadyRunning(f.name.clone()));
        }
        let binary = binary.as_ref().to_path_buf();
        let env: Vec<(OsString, OsString)> = env
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_os_string(), v.as_ref().to_os_string()))
            .collect();
        let given = |name: &str| {
            env.iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.to_string_lossy().into_owned())
        };
        let name = given("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|| {
            binary
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "function".into())
        });
        let region = given("AWS_REGION").unwrap_or_else(|| "us-east-1".into());
        let task_root = binary.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut cmd = Command::new(&binary);
        cmd.env_clear()
            .envs(lambda_env(&self.address, &name, &region, &task_root))
            .envs(env);
        let calls_before = self.shared.next_calls.load(Ordering::SeqCst);
        lock(&self.shared.init_error).take();
        let process = ServerProcess::spawn("Lambda function", cmd)?;
        self.function = Some(Function {
            arn: format!("arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"),
            name,
            binary,
            process,
        });

        let start = Instant::now();
        loop {
            if self.shared.next_calls.load(Ordering::SeqCst) > calls_before {
                return Ok(());
            }
            if let Some(reason) = self.init_failure() {
                return Err(self.init_error(reason));
            }
            if start.elapsed() >= self.init_timeout {
                let reason = format!(
                    "it did not ask for an invocation within {:?}",
                    self.init_timeout
                );
                return Err(self.init_error(reason));
            }
            thread::sleep(POLL);
        }
    }

    /// Invokes the function with `payload` (what `aws lambda invoke --payload` sends) and waits
    /// for its answer or error, at most the invocation timeout.
    pub async fn invoke(&self, payload: &Value) -> Result<Invocation, RuntimeApiError> {
        let f = self.function.as_ref().ok_or(RuntimeApiError::NoFunction)?;
        if let Some(reason) = self.init_failure() {
            return Err(self.init_error(reason));
        }
        let request_id = request_id();
        let (reply, answer) = oneshot::channel();
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let queued = Queued {
            request_id: request_id.clone(),
            payload: Bytes::from(payload.to_string()),
            deadline_ms: now_ms + self.invoke_timeout.as_millis() as u64,
            function_arn: f.arn.clone(),
            trace_id: trace_id(&request_id),
            reply,
        };
        let failed = |reason: String| self.invoke_error(&request_id, reason);
        if self.queue.send(queued).is_err() {
            return Err(failed("the Runtime API server has stopped".into()));
        }

        let start = Instant::now();
        let mut answer = answer;
        loop {
            tokio::select! {
                outcome = &mut answer => {
                    return match outcome {
                        Ok(Outcome::Response(body)) => match serde_json::from_slice(&body) {
                            Ok(v) => Ok(Invocation::Ok(v)),
                            Err(e) => Err(failed(format!(
                                "the answer is not JSON ({e}): {}",
                                String::from_utf8_lossy(&body[..body.len().min(300)])
                            ))),
                        },
                        Ok(Outcome::Error { error_type, message }) => {
                            Ok(Invocation::Err { error_type, message })
                        }
                        Err(_) => Err(failed("the Runtime API server has stopped".into())),
                    };
                }
                _ = tokio::time::sleep(POLL) => {}
            }
            let reason = match exit_status(f.process.pid()) {
                Some(status) => Some(format!("the function process {status} without answering")),
                None if start.elapsed() >= self.invoke_timeout => Some(format!(
                    "no answer within {:?} (Task timed out)",
                    self.invoke_timeout
                )),
                None => None,
            };
            if let Some(reason) = reason {
                lock(&self.shared.in_flight).remove(&request_id);
                return Err(failed(reason));
            }
        }
    }

    /// Why the function could not initialise, if it could not: it reported `init/error`, or
    /// exited before asking for an invocation.
    fn init_failure(&self) -> Option<String> {
        let f = self.function.as_ref()?;
        if let Some((error_type, message)) = lock(&self.shared.init_error).clone() {
            return Some(format!("init/error {error_type}: {message}"));
        }
        let status = exit_status(f.process.pid())?;
        (self.shared.next_calls.load(Ordering::SeqCst) == 0)
            .then(|| format!("the process {status} before asking for an invocation"))
    }

    fn init_error(&self, reason: String) -> RuntimeApiError {
        let f = self.function.as_ref().expect("a function was spawned");
        RuntimeApiError::Init {
            function: f.name.clone(),
            binary: f.binary.clone(),
            reason,
            log: f.process.log_path().to_path_buf(),
            log_tail: log_tail(f.process.log_path()),
        }
    }

    fn invoke_error(&self, request_id: &str, reason: String) -> RuntimeApiError {
        let f = self.function.as_ref().expect("a function was spawned");
        RuntimeApiError::Invoke {
            function: f.name.clone(),
            request_id: request_id.to_string(),
            reason,
            log: f.process.log_path().to_path_buf(),
            log_tail: log_tail(f.process.log_path()),
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        // The process first, so that it does not see its connection fail and log about it.
        self.function.take();
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
    }
}

/// The environment Lambda gives a custom runtime (the `provided.al2023` one), pointed here.
fn lambda_env(
    api: &SocketAddr,
    name: &str,
    region: &str,
    task_root: &Path,
) -> Vec<(&'static str, OsString)> {
    let stream = request_id().replace('-', "");
    vec![
        ("AWS_LAMBDA_RUNTIME_API", api.to_string().into()),
        ("AWS_LAMBDA_FUNCTION_NAME", name.into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{name}").into(),
        ),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            format!("local/[$LATEST]{stream}").into(),
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_REGION", region.into()),
        ("AWS_DEFAULT_REGION", region.into()),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".into()),
        ("LAMBDA_TASK_ROOT", task_root.as_os_str().to_os_string()),
        ("LAMBDA_RUNTIME_DIR", task_root.as_os_str().to_os_string()),
        ("_HANDLER", "bootstrap".into()),
        ("LANG", "en_US.UTF-8".into()),
        ("TZ", ":UTC".into()),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin".into()),
    ]
}

/// Accepts connections until `stop` fires; every connection ends with it.
async fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut stop: oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                let service = hyper::service::service_fn(move |req| route(shared.clone(), req));
                connections.spawn(async move {
                    // Errors are the function closing its connection: nothing to report.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

type HttpResponse = Response<Full<Bytes>>;

async fn route(shared: Arc<Shared>, req: Request<Incoming>) -> Result<HttpResponse, hyper::Error> {
    let path = req.uri().path().to_string();
    let Some(call) = path.strip_prefix(API_PREFIX) else {
        return Ok(not_found(&path));
    };
    let method = req.method().clone();
    if method == Method::GET && call == "/invocation/next" {
        return Ok(next_invocation(&shared).await);
    }
    if method != Method::POST {
        return Ok(not_found(&path));
    }
    let error_type_header = req
        .headers()
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let streaming = req
        .headers()
        .get("lambda-runtime-function-response-mode")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"streaming"));
    let body = req.into_body().collect().await?.to_bytes();

    if call == "/init/error" {
        *lock(&shared.init_error) = Some(diagnostic(&body, error_type_header));
        return Ok(accepted());
    }
    let Some((request_id, what)) = call
        .strip_prefix("/invocation/")
        .and_then(|rest| rest.rsplit_once('/'))
    else {
        return Ok(not_found(&path));
    };
    let outcome = match what {
        "response" if streaming => {
            return Ok(error_response(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                "response streaming is not emulated",
            ))
        }
        "response" => Outcome::Response(body),
        "error" => {
            let (error_type, message) = diagnostic(&body, error_type_header);
            Outcome::Error {
                error_type,
                message,
            }
        }
        _ => return Ok(not_found(&path)),
    };
    let Some(reply) = lock(&shared.in_flight).remove(request_id) else {
        return Ok(error_response(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            &format!("no invocation {request_id} is waiting for an answer"),
        ));
    };
    // The invoker may have given up (timeout): the answer is then dropped, as Lambda does.
    let _ = reply.send(outcome);
    Ok(accepted())
}

/// The long poll: waits for the next invocation the caller has not given up on.
async fn next_invocation(shared: &Shared) -> HttpResponse {
    shared.next_calls.fetch_add(1, Ordering::SeqCst);
    let mut queue = shared.queue.lock().await;
    loop {
        let Some(inv) = queue.recv().await else {
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceException",
                "the emulator is shutting down",
            );
        };
        if inv.reply.is_closed() {
            continue;
        }
        lock(&shared.in_flight).insert(inv.request_id.clone(), inv.reply);
        let mut response = Response::new(Full::new(inv.payload));
        let headers = response.headers_mut();
        for (name, value) in [
            ("lambda-runtime-aws-request-id", inv.request_id),
            ("lambda-runtime-deadline-ms", inv.deadline_ms.to_string()),
            ("lambda-runtime-invoked-function-arn", inv.function_arn),
            ("lambda-runtime-trace-id", inv.trace_id),
            ("content-type", "application/json".into()),
        ] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        return response;
    }
}

/// `{errorType, errorMessage}` of an error body; the header (or `Unhandled`) when the body
/// does not say.
fn diagnostic(body: &[u8], header: Option<String>) -> (String, String) {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    let error_type = text("errorType")
        .or(header)
        .unwrap_or_else(|| "Unhandled".into());
    let message =
        text("errorMessage").unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    (error_type, message)
}

fn accepted() -> HttpResponse {
    json_response(StatusCode::ACCEPTED, &json!({"status": "OK"}))
}

fn not_found(path: &str) -> HttpResponse {
    error_response(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("the emulated Runtime API has no {path}"),
    )
}

fn error_response(status: StatusCode, error_type: &str, message: &str) -> HttpResponse {
    json_response(
        status,
        &json!({"errorType": error_type, "errorMessage": message}),
    )
}

fn json_response(status: StatusCode, body: &Value) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}

/// A UUID-shaped id, unique in this process.
fn request_id() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    let mixed = (nanos ^ (u64::from(std::process::id()) << 40)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        mixed >> 32,
        (mixed >> 16) & 0xffff,
        mixed & 0xfff,
        (nanos >> 8) & 0xfff,
        seq & 0xffff_ffff_ffff
    )
}

/// An X-Ray trace header, as Lambda passes it (`_X_AMZN_TRACE_ID`).
fn trace_id(request_id: &str) -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let hex: String = request_id.chars().filter(|c| *c != '-').collect();
    format!(
        "Root=1-{secs:08x}-{};Parent={};Sampled=0",
        &hex[..24],
        &hex[16..32]
    )
}

/// How the process ended (`exited with status 1`, `was killed by signal 9`), or `None` while
/// it runs. Looks without reaping it: the process handle still owns that.
fn exit_status(pid: u32) -> Option<String> {
    // SAFETY: waitid with WNOWAIT only reads the state of our own child into `info`, which is
    // zeroed first as the man page asks for WNOHANG; the child stays waitable.
    let info = unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let r = libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        if r != 0 {
            // ECHILD: already reaped, so certainly gone.
            return Some("has exited".into());
        }
        info
    };
    // SAFETY: the fields are those of a SIGCHLD siginfo, which waitid filled (or left zeroed).
    let (child, status) = unsafe { (info.si_pid(), info.si_status()) };
    if child == 0 {
        return None;
    }
    Some(match info.si_code {
        libc::CLD_EXITED => format!("exited with status {status}"),
        _ => format!("was killed by signal {status}"),
    })
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
