//! W4: the chain x_{n+1} = sigmoid(x_n * w + b) of N links, one w and b shared, built through
//! the public graph API, compiled, then one forward and one backward pass. Each N runs in a
//! child process (this program with `--chain-one N`) so that its peak memory is its own.

use std::process::Command;
use std::time::Instant;

use backprop::Graph;
use serde_json::json;

use super::{Args, Json, proc_status_bytes, relative, reset_peak_rss};

const X0: f64 = 0.3;
const W: f64 = 3.9;
const B: f64 = -1.95;

/// The oracle: a plain loop storing every x_n, then the reverse recursion of the chain rule.
fn plain(n: usize) -> [f64; 4] {
    let mut xs = Vec::with_capacity(n + 1);
    xs.push(X0);
    for i in 0..n {
        xs.push(1.0 / (1.0 + (-(xs[i] * W + B)).exp()));
    }
    let (mut g, mut dw, mut db) = (1.0f64, 0.0, 0.0);
    for i in (0..n).rev() {
        let s = xs[i + 1];
        let gz = g * (s * (1.0 - s));
        dw += gz * xs[i];
        db += gz;
        g = gz * W;
    }
    [xs[n], dw, db, g]
}

/// One chain of `n` links in this process: build, compile, forward + backward, with times and
/// the growth of the process's peak memory in each phase.
pub fn run_one(n: usize) -> Json {
    let rss0 = proc_status_bytes("VmRSS");
    reset_peak_rss();
    let t0 = Instant::now();
    let g = Graph::new();
    let x0 = g.input("x0");
    let w = g.param("w", W);
    let b = g.param("b", B);
    let mut x = x0;
    for _ in 0..n {
        x = (x * w + b).sigmoid();
    }
    let (x, w, b, x0) = (x.id(), w.id(), b.id(), x0.id());
    let graph_seconds = t0.elapsed().as_secs_f64();
    let graph_peak = proc_status_bytes("VmHWM").saturating_sub(rss0);
    let graph_rss = proc_status_bytes("VmRSS").saturating_sub(rss0);
    let t1 = Instant::now();
    let tape = g.compile().expect("the chain compiles");
    let compile_seconds = t1.elapsed().as_secs_f64();
    let compile_peak = proc_status_bytes("VmHWM").saturating_sub(rss0);
    let tape_bytes = backprop::internal::tape_heap_bytes(&tape);
    // The tape does not refer to the graph: free the graph before running.
    drop(g);
    let rss1 = proc_status_bytes("VmRSS");
    reset_peak_rss();
    let t2 = Instant::now();
    let mut ws = tape.workspace();
    tape.forward(&mut ws, &[X0]).expect("forward");
    tape.backward(&mut ws, x).expect("backward");
    let got = [
        tape.value(&ws, x).expect("x_n"),
        tape.gradient(&ws, w).expect("dw"),
        tape.gradient(&ws, b).expect("db"),
        tape.gradient(&ws, x0).expect("dx0"),
    ];
    let seconds = t2.elapsed().as_secs_f64();
    let run_peak = proc_status_bytes("VmHWM").saturating_sub(rss1);
    // The same passes again on the now-touched workspace: the compute without the page faults.
    let t3 = Instant::now();
    tape.forward(&mut ws, &[X0]).expect("forward");
    let warm_forward = t3.elapsed().as_secs_f64();
    let t4 = Instant::now();
    tape.backward(&mut ws, x).expect("backward");
    let warm_backward = t4.elapsed().as_secs_f64();
    let again = tape.gradient(&ws, w).expect("dw");
    assert_eq!(
        again.to_bits(),
        got[1].to_bits(),
        "a second pass changed dw"
    );
    let want = plain(n);
    // dx0 underflows to ~1e-323 for long chains: compare it absolutely below 1e-300.
    let err = got
        .iter()
        .zip(&want)
        .map(|(&a, &b)| {
            if b.abs() < 1e-300 {
                (a - b).abs()
            } else {
                relative(a, b)
            }
        })
        .fold(0.0f64, f64::max);
    let per = |v: f64| v / n as f64;
    json!({
        "n": n,
        "seconds": seconds,
        "seconds_per_node": per(seconds),
        "warm_forward_seconds_per_node": per(warm_forward),
        "warm_backward_seconds_per_node": per(warm_backward),
        "build_seconds": graph_seconds + compile_seconds,
        "build_seconds_per_node": per(graph_seconds + compile_seconds),
        "graph_seconds_per_node": per(graph_seconds),
        "compile_seconds_per_node": per(compile_seconds),
        "peak_bytes": graph_peak.max(compile_peak).max(run_peak + (rss1 - rss0.min(rss1))),
        "peak_bytes_per_node": per(graph_peak.max(compile_peak).max(run_peak + (rss1 - rss0.min(rss1))) as f64),
        "graph_bytes_per_node": per(graph_rss as f64),
        "build_peak_bytes_per_node": per(graph_peak.max(compile_peak) as f64),
        "tape_bytes_per_node": per(tape_bytes as f64),
        "run_peak_bytes_per_node": per(run_peak as f64),
        "grads": {"x_n": got[0], "dw": got[1], "db": got[2], "dx0": got[3]},
        "max_rel_err_vs_closed_form": err,
    })
}

/// Runs each N of `--chain-ns` in a child process; one JSON line for the largest that worked.
pub fn drive(args: &Args) -> Json {
    let exe = std::env::current_exe().expect("current_exe");
    let mut runs = Vec::new();
    let mut best: Option<Json> = None;
    for &n in &args.chain_ns {
        let out = Command::new(&exe)
            .arg("--chain-one")
            .arg(n.to_string())
            .output()
            .expect("spawn the chain child");
        let line = String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| serde_json::from_str::<Json>(l).ok());
        match line {
            Some(r) if out.status.success() => {
                runs.push(r.clone());
                best = Some(r);
            }
            _ => {
                runs.push(json!({"n": n, "ok": false,
                    "error": String::from_utf8_lossy(&out.stderr).lines().take(3).collect::<Vec<_>>().join(" | ")}));
                break;
            }
        }
    }
    let mut o = serde_json::Map::new();
    o.insert("impl".into(), json!("backprop/graph"));
    o.insert("workload".into(), json!("chain"));
    match &best {
        Some(b) => {
            for (k, v) in b.as_object().expect("an object") {
                o.insert(k.clone(), v.clone());
            }
            let ok = b["max_rel_err_vs_closed_form"].as_f64().unwrap_or(1.0) <= 1e-9;
            o.insert("checks".into(), json!({"gradients_match_plain_loop": ok}));
        }
        None => {
            o.insert("n".into(), Json::Null);
            o.insert("checks".into(), json!({"ran": false}));
        }
    }
    o.insert("final_loss".into(), Json::Null);
    o.insert("accuracy".into(), Json::Null);
    o.insert("threads".into(), json!(1));
    o.insert("x0_w_b".into(), json!([X0, W, B]));
    o.insert("runs".into(), json!(runs));
    o.insert(
        "note".into(),
        json!("graph (petgraph) + compile timed as build; forward + backward of the tape timed as the run; the graph is freed before the run"),
    );
    Json::Object(o)
}
