//! The playground's server under load, on loopback: the latency of a step (median, 99th
//! percentile) for the worked example, a 2-16-16-1 network on two moons and a 64-32-10 network,
//! and of a training request of the page's run loop; training speed on two moons; and a load
//! test of many concurrent sessions stepping and training. Fails (exit 1) if any request of the
//! load test fails.
//!
//! `cargo bench --bench playground [-- --sessions 50 --seconds 5]`; `-- --smoke` for a short
//! run (10 sessions, 1 second, fewer samples) that only checks nothing fails; `-- --memory
//! [--largest 40]` for the memory figures alone: the process's resident memory before and after
//! a flood of 2,000 sessions, then while that many sessions build, walk and train the largest
//! network (2-300-300-1 on 20,000 rows).
//!
//! The latencies of one client at a time are measured on one kept-alive connection, as the
//! page's requests go; the load test opens a new connection per request (`Connection: close`),
//! so its latencies include the TCP handshake on loopback.

#[path = "../tests/it/http.rs"]
mod http;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use backprop::serve::{Options, Server};
use http::{KeptAlive, Session};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let k = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[k]
}

fn ms(seconds: f64) -> String {
    format!("{:.2} ms", seconds * 1e3)
}

/// `count` step requests cycling through the walk, on one kept-alive connection; (walk
/// latency, sorted step latencies).
fn step_latencies(session: &Session, count: usize) -> (f64, Vec<f64>) {
    let mut connection = KeptAlive::new(session);
    let start = Instant::now();
    let outline = connection.ok("/api/walk", r#"{"association": 0, "learning_rate": 0.01}"#);
    let walk = start.elapsed().as_secs_f64();
    let steps = outline["count"].as_u64().expect("a count");
    let mut times: Vec<f64> = (0..count)
        .map(|i| {
            let body = format!(
                r#"{{"association": 0, "learning_rate": 0.01, "index": {}}}"#,
                i as u64 % steps
            );
            let start = Instant::now();
            let reply = connection.post("/api/step", &body);
            assert_eq!(reply.status, 200, "{}", reply.body);
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (walk, times)
}

fn report_steps(what: &str, session: &Session, count: usize) {
    let (walk, times) = step_latencies(session, count);
    println!(
        "{what}: walk (computes every step) {}; step median {}, p99 {} ({count} steps, kept alive)",
        ms(walk),
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99))
    );
}

/// `count` training requests as the page's run loop sends them (a few epochs and the decision
/// surface), on one kept-alive connection.
fn report_runs(what: &str, session: &Session, body: &str, count: usize) {
    let mut connection = KeptAlive::new(session);
    let mut times: Vec<f64> = (0..count)
        .map(|_| {
            let start = Instant::now();
            connection.ok("/api/train", body);
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "{what}: train request median {}, p99 {} ({count} requests, kept alive)",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99))
    );
}

/// A CSV of `rows` associations of 64 inputs and 10 one-hot targets, from a fixed sequence.
fn wide_csv(rows: usize) -> String {
    let mut text: Vec<String> = (0..64).map(|i| format!("x{i}")).collect();
    text.extend((0..10).map(|k| format!("y{k}")));
    let mut csv = text.join(",") + "\n";
    for r in 0..rows {
        let mut cells: Vec<String> = (0..64)
            .map(|i| format!("{}", ((r * 31 + i * 17) % 17) as f64 / 16.0))
            .collect();
        cells.extend((0..10).map(|k| if k == r % 10 { "1" } else { "0" }.to_string()));
        csv.push_str(&(cells.join(",") + "\n"));
    }
    csv
}

/// The process's resident memory (`VmRSS`), in MB.
fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The memory figures: a flood of sessions, then `largest` sessions of the largest network.
fn memory(addr: SocketAddr, largest: usize) {
    println!("memory: RSS {:.0} MB at start", rss_mb());
    let start = Instant::now();
    let flood: Vec<Session> = (0..2_000).map(|_| Session::new(addr)).collect();
    let took = start.elapsed().as_secs_f64();
    let fresh = Session::new(addr);
    let walk = fresh.post("/api/walk", r#"{"association": 0, "learning_rate": 0.01}"#);
    println!(
        "flood: 2,000 sessions in {took:.2} s; RSS {:.0} MB; a new tab after it: {}",
        rss_mb(),
        walk.status
    );
    drop(flood);
    let mut csv = String::from("x1,x2,y\n");
    for r in 0..20_000 {
        let a = r as f64 * 0.618_033_988_7;
        csv.push_str(&format!(
            "{:.5},{:.5},{}\n",
            a.sin() * 1.5,
            (a * 1.3).cos(),
            r % 2
        ));
    }
    let build = serde_json::json!({
        "network": {"layers": {"sizes": [2, 300, 300, 1], "activations": ["tanh", "tanh", "sigmoid"],
            "bias": 1.0, "init": {"random": {"seed": 1, "low": -0.1, "high": 0.1}}}},
        "data": {"csv": {"text": csv, "targets": ["y"]}}
    })
    .to_string();
    let mut sessions = Vec::new();
    let mut slowest = [0.0f64; 3];
    for n in 1..=largest {
        let session = Session::new(addr);
        for (k, (path, body)) in [
            ("/api/build", build.as_str()),
            ("/api/walk", r#"{"association": 0, "learning_rate": 0.01}"#),
            (
                "/api/train",
                r#"{"epochs": 1, "learning_rate": 0.001, "optimiser": "adam", "batch": "stochastic", "surface": 100}"#,
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let start = Instant::now();
            session.ok(path, body);
            slowest[k] = slowest[k].max(start.elapsed().as_secs_f64());
        }
        sessions.push(session);
        if n % 10 == 0 || n == largest {
            let alive = sessions
                .iter()
                .filter(|s| s.get("/api/state").status == 200)
                .count();
            println!(
                "{n} sessions of 2-300-300-1 on 20,000 rows, built, walked, trained: RSS {:.0} MB, \
                 {alive} still alive",
                rss_mb()
            );
        }
    }
    println!(
        "slowest build {}, walk {}, train {}",
        ms(slowest[0]),
        ms(slowest[1]),
        ms(slowest[2])
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| args.iter().position(|a| a == name);
    let value = |name: &str, default: u64| {
        flag(name)
            .and_then(|k| args.get(k + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let smoke = flag("--smoke").is_some();
    let sessions = value("--sessions", if smoke { 10 } else { 50 }) as usize;
    let seconds = value("--seconds", if smoke { 1 } else { 5 });
    let samples = if smoke { 50 } else { 1_000 };

    let server = Server::bind(Options {
        port: 0,
        ..Options::default()
    })
    .expect("the server binds");
    let addr: SocketAddr = server.addr();
    let stopper = server.stopper();
    let serving = std::thread::spawn(move || server.run());
    if flag("--memory").is_some() {
        memory(addr, value("--largest", 40) as usize);
        stopper.stop();
        let _ = serving.join();
        return;
    }

    // step latency, one client at a time
    let worked = Session::new(addr);
    report_steps("worked example 2-2-1", &worked, samples);
    let wide = Session::new(addr);
    let build = serde_json::json!({
        "network": {"layers": {"sizes": [64, 32, 10], "activations": ["sigmoid", "identity"],
            "bias": 1.0, "init": {"random": {"seed": 1, "low": -0.1, "high": 0.1}}}},
        "data": {"csv": {"text": wide_csv(100), "targets": (0..10).map(|k| format!("y{k}")).collect::<Vec<_>>()}}
    });
    wide.ok("/api/build", &build.to_string());
    report_steps("64-32-10 network", &wide, samples);

    // training two moons: gradient steps per second
    let moons = Session::new(addr);
    moons.ok(
        "/api/build",
        r#"{"network": {"layers": {"sizes": [2, 16, 16, 1], "activations": ["tanh", "tanh", "sigmoid"],
            "bias": 1.0, "init": {"random": {"seed": 1, "low": -1.0, "high": 1.0}}}},
            "data": {"preset": "moons"}}"#,
    );
    report_steps("two moons 2-16-16-1", &moons, samples);
    report_runs(
        "two moons 2-16-16-1, 10 epochs and a 40 x 40 surface",
        &moons,
        r#"{"epochs": 10, "learning_rate": 0.01, "optimiser": "adam", "batch": "full", "surface": 40}"#,
        samples / 5,
    );
    for (batch, steps_per_epoch) in [("\"full\"", 1.0), ("\"stochastic\"", 100.0)] {
        let (mut epochs, mut busy) = (0.0, 0.0);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(if smoke { 1 } else { 3 }) {
            let reply = moons.ok(
                "/api/train",
                &format!(
                    r#"{{"epochs": 10000, "learning_rate": 0.01, "optimiser": "adam", "batch": {batch}}}"#
                ),
            );
            epochs += reply["epochs_run"].as_f64().unwrap();
            busy += reply["seconds"].as_f64().unwrap();
        }
        let wall = start.elapsed().as_secs_f64();
        println!(
            "two moons 2-16-16-1, 100 associations, {batch} batches: {:.0} updates/s over HTTP \
             ({:.0} in the training loop)",
            epochs * steps_per_epoch / wall,
            epochs * steps_per_epoch / busy
        );
    }

    // the load test: every session steps, and every 5th request trains 10 epochs
    let failures = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..sessions)
        .map(|n| {
            let (failures, done) = (failures.clone(), done.clone());
            std::thread::spawn(move || {
                let session = Session::new(addr);
                let preset = if n % 2 == 0 { "xor" } else { "moons" };
                session.ok(
                    "/api/build",
                    &format!(
                        r#"{{"network": {{"layers": {{"sizes": [2, 8, 1], "activations": ["tanh", "sigmoid"],
                        "bias": 1.0, "init": {{"random": {{"seed": {n}, "low": -1.0, "high": 1.0}}}}}}}},
                        "data": {{"preset": "{preset}"}}}}"#
                    ),
                );
                let (mut steps, mut requests) = (Vec::new(), 0u64);
                let mut k = 0u64;
                while !done.load(Ordering::Relaxed) {
                    k += 1;
                    let start = Instant::now();
                    let training = k.is_multiple_of(5);
                    let reply = if training {
                        session.post(
                            "/api/train",
                            r#"{"epochs": 10, "learning_rate": 0.05, "optimiser": "adam", "batch": "full", "surface": 40}"#,
                        )
                    } else {
                        session.post(
                            "/api/step",
                            &format!(
                                r#"{{"association": 0, "learning_rate": 0.1, "index": {}}}"#,
                                k % 10
                            ),
                        )
                    };
                    if reply.status != 200 {
                        failures.fetch_add(1, Ordering::Relaxed);
                        eprintln!("failed: {} {}", reply.status, reply.body);
                    } else if !training {
                        steps.push(start.elapsed().as_secs_f64());
                    }
                    requests += 1;
                }
                (steps, requests)
            })
        })
        .collect();
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    done.store(true, Ordering::Relaxed);
    let mut steps = Vec::new();
    let mut requests = 0;
    for client in clients {
        let (s, r) = client.join().expect("a client finishes");
        steps.extend(s);
        requests += r;
    }
    let wall = start.elapsed().as_secs_f64();
    steps.sort_by(f64::total_cmp);
    let failed = failures.load(Ordering::Relaxed);
    println!(
        "load: {sessions} sessions for {seconds} s: {requests} requests, {:.0} req/s; step median {}, \
         p99 {}; {failed} failed",
        requests as f64 / wall,
        ms(percentile(&steps, 0.5)),
        ms(percentile(&steps, 0.99))
    );
    stopper.stop();
    let _ = serving.join();
    if failed > 0 {
        std::process::exit(1);
    }
}
