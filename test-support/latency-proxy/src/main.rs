//! `ctverify-latency-proxy`: a small, fast HTTP/1.1 reverse proxy for the S3
//! benchmark (`bench/s3.sh`). Every request waits `--latency-ms` (a timer,
//! no thread held), then goes to `--upstream` (S3) or, when it is a
//! CloudTrail JSON call (`X-Amz-Target` header), to `--cloudtrail-upstream`;
//! bodies are streamed both ways. The Python proxy of the tests
//! (`test-support/s3/proxy.py`) injects faults but serves under a thousand
//! requests a second on two cores, which would measure the proxy, not the
//! client.
//!
//! With `--serve DIR --bucket NAME` it is itself a static S3 endpoint over
//! a bucket copy ([`serve`]), for the benchmark only.
//!
//! ```text
//! ctverify-latency-proxy (--upstream http://127.0.0.1:P | --serve DIR --bucket NAME)
//!                        [--cloudtrail-upstream URL] [--listen 127.0.0.1:0] [--latency-ms 20]
//! ```
//! Prints `PORT <n>` once listening.
#![forbid(unsafe_code)]

mod serve;

use anyhow::{bail, Context, Result};
use http_body_util::combinators::BoxBody;
use http_body_util::BodyExt;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, Uri};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

struct Settings {
    upstream: String,
    store: Option<serve::Store>,
    cloudtrail: String,
    latency: Duration,
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let store = match (flag(&args, "--serve"), flag(&args, "--bucket")) {
        (Some(dir), Some(bucket)) => Some(serve::Store::open(std::path::Path::new(&dir), &bucket)?),
        (None, None) => None,
        _ => bail!("--serve DIR needs --bucket NAME"),
    };
    let Some(upstream) = flag(&args, "--upstream").or_else(|| flag(&args, "--cloudtrail-upstream")) else {
        bail!("usage: ctverify-latency-proxy (--upstream URL | --serve DIR --bucket NAME) [--cloudtrail-upstream URL] [--listen ADDR] [--latency-ms N]");
    };
    let settings = Arc::new(Settings {
        store,
        cloudtrail: flag(&args, "--cloudtrail-upstream").unwrap_or_else(|| upstream.clone()),
        upstream,
        latency: Duration::from_secs_f64(
            flag(&args, "--latency-ms")
                .map(|v| v.parse::<f64>())
                .transpose()
                .context("--latency-ms")?
                .unwrap_or(0.0)
                / 1000.0,
        ),
    });
    let listen = flag(&args, "--listen").unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("PORT {}", listener.local_addr()?.port());
    std::io::stdout().flush()?;
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<HttpConnector, Incoming> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(1024)
        .build(connector);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let (client, settings) = (client.clone(), settings.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req| forward(req, client.clone(), settings.clone()));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

type Body = BoxBody<Bytes, hyper::Error>;

async fn forward(
    mut req: Request<Incoming>,
    client: Client<HttpConnector, Incoming>,
    settings: Arc<Settings>,
) -> Result<Response<Body>> {
    tokio::time::sleep(settings.latency).await;
    let cloudtrail = req.headers().contains_key("x-amz-target");
    if let (Some(store), false) = (&settings.store, cloudtrail) {
        return Ok(store
            .answer(&req)
            .await
            .map(|b| b.map_err(|never| match never {}).boxed()));
    }
    let base = if cloudtrail {
        &settings.cloudtrail
    } else {
        &settings.upstream
    };
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let uri: Uri = format!("{base}{path}").parse()?;
    *req.uri_mut() = uri;
    Ok(client.request(req).await?.map(BodyExt::boxed))
}
