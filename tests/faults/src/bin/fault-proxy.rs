//! `fault-proxy`: the fault-injecting proxy (or, with `--sink`, the discarding bulk sink) as a
//! process, for scripts and benchmarks. Prints its endpoint on the first line of stdout.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use backfill_faults::{BulkSink, FaultPlan, FaultProxy};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "fault-proxy",
    about = "Fault-injecting _bulk proxy, or a discarding bulk sink"
)]
struct Args {
    /// Base URL of the OpenSearch-compatible server to forward to (loopback only).
    #[arg(long, required_unless_present = "sink")]
    upstream: Option<String>,
    /// Address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Answer every Nth _bulk request with 429.
    #[arg(long, value_name = "N")]
    throttle_every: Option<u32>,
    /// Answer every Nth _bulk request with 503.
    #[arg(long, value_name = "N")]
    unavailable_every: Option<u32>,
    /// Reset the connection of every Nth _bulk request without forwarding it.
    #[arg(long, value_name = "N")]
    reset_every: Option<u32>,
    /// Forward every Nth _bulk request, then reset the connection without answering.
    #[arg(long, value_name = "N")]
    reset_after_forward_every: Option<u32>,
    /// Reject every Nth action of forwarded _bulk requests with a 429 item.
    #[arg(long, value_name = "N")]
    item_throttle_every: Option<u32>,
    /// Let at most this many bytes of _bulk bodies through per second; answer 429 beyond.
    #[arg(long, value_name = "BYTES")]
    capacity_bytes_per_sec: Option<u64>,
    /// Delay every answer by this many milliseconds.
    #[arg(long, value_name = "MS")]
    latency_ms: Option<u64>,
    /// Run the discarding bulk sink instead of proxying.
    #[arg(long, conflicts_with = "upstream")]
    sink: bool,
    /// Do not exit when stdin closes (only on SIGTERM/SIGINT).
    #[arg(long)]
    no_stdin_watch: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?
        .block_on(run(args))
}

enum Server {
    Proxy(FaultProxy),
    Sink(BulkSink),
}

async fn run(args: Args) -> anyhow::Result<()> {
    let server = match &args.upstream {
        Some(upstream) if !args.sink => {
            let plan = FaultPlan {
                throttle_every: args.throttle_every,
                unavailable_every: args.unavailable_every,
                reset_every: args.reset_every,
                reset_after_forward_every: args.reset_after_forward_every,
                item_throttle_every: args.item_throttle_every,
                latency: args.latency_ms.map(Duration::from_millis),
                aws_throttle_every: None,
                capacity_bytes_per_sec: args.capacity_bytes_per_sec,
            };
            let proxy = FaultProxy::start_on(args.listen, upstream, plan)
                .await
                .with_context(|| format!("starting the proxy on {} to {upstream}", args.listen))?;
            Server::Proxy(proxy)
        }
        _ => Server::Sink(
            BulkSink::start_on(args.listen)
                .await
                .with_context(|| format!("starting the sink on {}", args.listen))?,
        ),
    };
    let endpoint = match &server {
        Server::Proxy(p) => p.endpoint(),
        Server::Sink(s) => s.endpoint(),
    };
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{endpoint}").context("writing the endpoint")?;
    stdout.flush().context("writing the endpoint")?;
    drop(stdout);

    wait_for_exit(!args.no_stdin_watch).await?;
    match server {
        Server::Proxy(p) => {
            eprintln!("fault-proxy: {:?}", p.counts());
            p.shutdown().await;
        }
        Server::Sink(s) => {
            eprintln!(
                "fault-proxy: sink received {} docs, {} bytes",
                s.docs(),
                s.bytes()
            );
            s.shutdown().await;
        }
    }
    Ok(())
}

/// Returns on SIGTERM, SIGINT or (when watched) end of stdin: the parent went away.
async fn wait_for_exit(watch_stdin: bool) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let (eof_tx, eof_rx) = tokio::sync::oneshot::channel::<()>();
    if watch_stdin {
        // A blocking read on a plain thread: stdin has no async interface worth a dependency.
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut stdin = std::io::stdin().lock();
            while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
            let _ = eof_tx.send(());
        });
    } else {
        // Keeps the sender alive so the receiver never completes.
        std::mem::forget(eof_tx);
    }
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = eof_rx => {}
    }
    Ok(())
}
