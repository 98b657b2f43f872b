//! `placement-api [--config-file FILE]... [--host H] [--port P]`: serve the
//! Placement API (default 127.0.0.1:8778).

use actix_web::{App, HttpServer};
use clap::Parser;
use placement_server::cli::{self, CommonArgs};
use placement_server::{build_state, init_logging, load_config, open_database, outln, prepare_database, reload_policy};
use tokio::signal::unix::{SignalKind, signal};

/// Serves the Placement API.
#[derive(Parser)]
#[command(name = "placement-api", after_help = cli::ENVIRONMENT)]
struct Options {
    #[command(flatten)]
    common: CommonArgs,
    /// Address to listen on
    #[arg(long, visible_alias = "bind-host", value_name = "HOST", default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on
    #[arg(long, visible_alias = "bind-port", value_name = "PORT", default_value_t = 8778)]
    port: u16,
    // Not a doc comment: rustdoc would read "[api]" as a link.
    #[arg(long, value_name = "N", help = "HTTP worker threads (overrides [api] workers; default one per core)")]
    #[arg(value_parser = clap::value_parser!(u16).range(1..))]
    workers: Option<u16>,
}

fn main() {
    let cli: Options = cli::parse();
    if cli.common.version {
        outln!("placement-api {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    let config = load_config(&cli.common).unwrap_or_else(|e| fail(&e));
    init_logging(&config, "placement-api").unwrap_or_else(|e| fail(&e));
    let db = open_database(&config).unwrap_or_else(|e| fail(&e));
    if let Err(e) = prepare_database(&db, &config) {
        fail(&e);
    }
    let (host, port) = (cli.host, cli.port);
    let max_connections = config.api.max_connections;
    let metrics_at = config
        .metrics_port
        .filter(|_| config.metrics_enabled)
        .map(|p| (config.metrics_host.clone().unwrap_or_else(|| host.clone()), p));
    let shutdown_timeout = config.graceful_shutdown_timeout;
    let workers = cli
        .workers
        .map(usize::from)
        .or(config.api.workers)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get));
    let result = actix_web::rt::System::new().block_on(async move {
        let state = build_state(&config, db).await.unwrap_or_else(|e| fail(&e));
        let (reloading, config) = (state.clone(), config.clone());
        actix_web::rt::spawn(async move {
            let Ok(mut hangups) = signal(SignalKind::hangup()) else {
                log::warn!("cannot listen for SIGHUP: the policy will not be reloaded");
                return;
            };
            while hangups.recv().await.is_some() {
                reload_policy(&reloading, &config).await;
            }
        });
        let mut server = HttpServer::new(move || App::new().configure(placement_api::configure(state.clone())))
            .max_connections(max_connections)
            .workers(workers)
            .shutdown_timeout(shutdown_timeout)
            // Ours below: SIGINT is graceful too (actix's would cut requests).
            .disable_signals()
            .bind((host.as_str(), port))
            .unwrap_or_else(|e| fail(&format!("cannot listen on {host}:{port}: {e}")));
        if let Some((metrics_host, metrics_port)) = &metrics_at {
            server = server
                .bind((metrics_host.as_str(), *metrics_port))
                .unwrap_or_else(|e| fail(&format!("cannot listen for metrics on {metrics_host}:{metrics_port}: {e}")));
            log::info!("metrics served on {metrics_host}:{metrics_port} only");
        }
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(async move {
            let stop = stop_signal().await;
            log::warn!("{stop}: no new connections; finishing requests in flight (at most {shutdown_timeout} s)");
            handle.stop(true).await;
        });
        log::info!("placement-api listening on {host}:{port} with {workers} workers");
        let result = server.await;
        log::info!("placement-api stopped");
        result
    });
    if let Err(e) = result {
        fail(&format!("server error: {e}"));
    }
}

/// The first SIGTERM or SIGINT, by name.
async fn stop_signal() -> &'static str {
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        log::warn!("cannot listen for SIGTERM and SIGINT: stopping will not wait for requests in flight");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

fn fail(message: &str) -> ! {
    eprintln!("placement-api: {message}");
    std::process::exit(1)
}
