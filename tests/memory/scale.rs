//! Scale: a chain of 10^7 nodes and a node with 10^6 consumers are built, compiled, evaluated
//! and differentiated on a thread with a 256 KiB stack (nothing recurses over the graph), and
//! the memory a node costs stays bounded. The chain is `tests/deep_chain.rs` ten times longer,
//! checked against forward-mode derivatives in a plain loop (O(1) memory, and a method that
//! shares nothing with the engine's reverse sweep).

use backprop::Graph;

use crate::MEASURING;

const STACK: usize = 256 * 1024;

/// x_{n+1} = sigmoid(x_n w + b), shared w and b (the W4 chain of ../shared/bench/WORKLOADS.md):
/// near its fixed point x = 1/2 each link scales a derivative by sigmoid'(0) w = 0.975.
const W: f64 = 3.9;
const B: f64 = -1.95;
const X0: f64 = 0.3;

/// The oracle: forward-mode derivatives carried along the chain,
/// z = x w + b, x' = s(z), dx'/dw = s'(z) (x + w dx/dw), dx'/db = s'(z) (1 + w dx/db),
/// dx'/dx0 = s'(z) w dx/dx0, with s' = s (1 - s).
fn forward_mode(links: usize) -> (f64, f64, f64, f64) {
    let (mut x, mut dw, mut db, mut dx0) = (X0, 0.0, 0.0, 1.0);
    for _ in 0..links {
        let z = x * W + B;
        let s = 1.0 / (1.0 + (-z).exp());
        let ds = s * (1.0 - s);
        dw = ds * (x + W * dw);
        db = ds * (1.0 + W * db);
        dx0 *= ds * W;
        x = s;
    }
    (x, dw, db, dx0)
}

/// A field of /proc/self/status in bytes (`VmRSS`: resident now; `VmHWM`: the peak so far).
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn on_small_stack<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(work)
        .unwrap()
        .join()
        .expect("no recursion: a 256 KiB stack is enough")
}

struct ChainRun {
    nodes: usize,
    values: (f64, f64, f64, f64),
    tape_bytes: usize,
    resident: Option<u64>,
}

#[test]
fn ten_million_node_chain_runs_on_a_256_kib_stack_in_bounded_memory() {
    // 3 leaves + 3 nodes per link (mul, add, sigmoid): 10^7 + 2 nodes
    const LINKS: usize = 3_333_333;
    let _one_at_a_time = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let before = status_bytes("VmRSS");
    let run = on_small_stack(|| {
        let g = Graph::new();
        let x0 = g.input("x0");
        let w = g.param("w", W);
        let b = g.param("b", B);
        let mut x = x0;
        for _ in 0..LINKS {
            x = (x * w + b).sigmoid();
        }
        let tape = g.compile().unwrap();
        let mut ws = tape.workspace();
        tape.forward(&mut ws, &[X0]).unwrap();
        tape.backward(&mut ws, x).unwrap();
        // graph, tape and workspace all alive
        let resident = status_bytes("VmRSS");
        ChainRun {
            nodes: g.len(),
            values: (
                tape.value(&ws, x).unwrap(),
                tape.gradient(&ws, w).unwrap(),
                tape.gradient(&ws, b).unwrap(),
                tape.gradient(&ws, x0).unwrap(),
            ),
            tape_bytes: backprop::internal::tape_heap_bytes(&tape),
            resident,
        }
    });
    let peak = status_bytes("VmHWM");
    assert_eq!(run.nodes, 3 + 3 * LINKS);
    let (x_n, dw, db, dx0) = run.values;
    let (ex, edw, edb, edx0) = forward_mode(LINKS);
    // Both sides round each link differently (the engine's sigmoid branch, reverse versus
    // forward accumulation), by an ulp or two; the links contract errors by 0.975, so values
    // agree to ~40 ulp and sums of 3.3e6 contributions to ~1e-11 relative. dx0 is a product
    // of 3.3e6 factors of about 0.975 (e^-84000): it sinks into the subnormal numbers, where
    // k * 4.9e-324 times 0.975 rounds back to itself once k < 20, so each side stops at a
    // different few units of 4.9e-324.
    assert!(dx0.abs() < 1e-321 && edx0.abs() < 1e-321, "{dx0}, {edx0}");
    for (what, got, want) in [("x_n", x_n, ex), ("dx_n/dw", dw, edw), ("dx_n/db", db, edb)] {
        assert!(
            (got - want).abs() <= 1e-10 * want.abs(),
            "{what}: {got} vs {want}"
        );
    }

    let per_node = |bytes: u64| bytes as f64 / run.nodes as f64;
    let tape = per_node(run.tape_bytes as u64);
    // values and adjoints: two f64 per link (the mul and add inside each link have no row)
    let workspace = 16.0 / 3.0;
    eprintln!("tape {tape:.1} + workspace {workspace:.1} bytes per node (counted)");
    assert!(tape <= 40.0, "tape: {tape} bytes per node");
    if let (Some(before), Some(resident), Some(peak)) = (before, run.resident, peak) {
        let resident = per_node(resident.saturating_sub(before));
        let peak = per_node(peak.saturating_sub(before));
        eprintln!(
            "graph + tape + workspace: {resident:.1} bytes per node resident, {peak:.1} at the peak (VmRSS, VmHWM over {} nodes)",
            run.nodes
        );
        // petgraph's node (24 bytes) and 5/3 edges (16 bytes each), the tape's instruction and
        // operands (~10 per node: 28 per link), the workspace (~5): ~65 bytes, and growing
        // vectors may hold up to twice their length; 256 bytes per node means something is
        // stored that should not be
        assert!(resident <= 256.0, "{resident} bytes per node");
    }
}

#[test]
fn a_node_with_a_million_consumers_has_its_gradient_summed_exactly() {
    const CONSUMERS: usize = 1_000_000;
    let _one_at_a_time = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let (nodes, value, dx, dc, chain, dchain) = on_small_stack(|| {
        let g = Graph::new();
        let x = g.input("x");
        // y = sum_k x c_k with c_k = k + 1: one node read by 10^6 products, and one n-ary sum
        // of 10^6 operands
        let terms: Vec<_> = (0..CONSUMERS)
            .map(|k| x * g.param("", (k + 1) as f64))
            .collect();
        let y = g.sum(&terms);
        // and a chain of 10^6 additions reading x at every link: s_k = s_{k-1} + x, s_0 = x
        let mut s = x;
        for _ in 1..CONSUMERS {
            s += x;
        }
        let tape = g.compile().unwrap();
        let mut ws = tape.workspace();
        ws.set_anomaly_mode(true);
        tape.forward(&mut ws, &[0.5]).unwrap();
        tape.backward(&mut ws, y).unwrap();
        let dc: Vec<f64> = tape
            .param_nodes()
            .iter()
            .map(|&c| tape.gradient(&ws, c).unwrap())
            .collect();
        let (value, dx) = (tape.value(&ws, y).unwrap(), tape.gradient(&ws, x).unwrap());
        tape.backward(&mut ws, s).unwrap();
        let (chain, dchain) = (tape.value(&ws, s).unwrap(), tape.gradient(&ws, x).unwrap());
        (g.len(), value, dx, dc, chain, dchain)
    });
    assert_eq!(nodes, 1 + 2 * CONSUMERS + 1 + (CONSUMERS - 1));
    // dy/dx = sum_k c_k = n (n + 1) / 2 = 500000500000, y = x times that; dy/dc_k = x = 1/2.
    // Every partial sum is an integer or a half below 2^53: exact in any order.
    let n = CONSUMERS as f64;
    assert_eq!(dx, n * (n + 1.0) / 2.0);
    assert_eq!(value, 0.5 * n * (n + 1.0) / 2.0);
    assert_eq!(dc.len(), CONSUMERS);
    assert!(dc.iter().all(|&d| d == 0.5));
    // s = n x = 500000, ds/dx = n (10^6 contributions of 1 accumulated into one adjoint)
    assert_eq!((chain, dchain), (0.5 * n, n));
}
