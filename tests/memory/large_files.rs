//! Large files: a graph file of 10^5 nodes (the chain x_{k+1} = sigmoid(x_k w) of `mul` and
//! `sigmoid` nodes that `examples/chain_file.rs` writes, here written by a plain loop) is loaded,
//! evaluated and differentiated, by the library and by `backprop grad`, within a bounded number
//! of bytes per node, measured as in `tests/scale.rs` (the kernel's resident-set peak, VmHWM).
//! The numbers are checked against forward-mode derivatives carried along the chain in a plain
//! loop, which shares nothing with the engine or the loader.

use std::io::Write;
use std::path::PathBuf;

use crate::MEASURING;

/// x_0, w, then a `mul` and a `sigmoid` per link.
const NODES: usize = 100_000;
const LINKS: usize = (NODES - 2) / 2;
const X0: f64 = 0.5;
const W: f64 = 0.9;

/// The chain's graph file, written line by line: ids in creation order, node 2k + 2 is
/// x_k w and node 2k + 3 is x_{k+1} (x_0 is node 0, w node 1).
fn write_chain_file(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("backprop-large-{}-{name}", std::process::id()));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(
        out,
        r#"{{"format": "backprop-graph", "version": 1, "nodes": ["#
    )
    .unwrap();
    writeln!(
        out,
        r#"{{"id": 0, "op": "input", "label": "x0", "value": {X0:?}}},"#
    )
    .unwrap();
    write!(
        out,
        r#"{{"id": 1, "op": "param", "label": "w", "value": {W:?}}}"#
    )
    .unwrap();
    for k in 0..LINKS {
        let (x, mul) = (if k == 0 { 0 } else { 2 * k + 1 }, 2 * k + 2);
        write!(
            out,
            ",\n{{\"id\": {mul}, \"op\": \"mul\", \"operands\": [{x}, 1]}}"
        )
        .unwrap();
        let sigmoid = mul + 1;
        write!(
            out,
            ",\n{{\"id\": {sigmoid}, \"op\": \"sigmoid\", \"operands\": [{mul}]}}"
        )
        .unwrap();
    }
    writeln!(out, "\n], \"output\": {}}}", NODES - 1).unwrap();
    out.into_inner().unwrap().sync_all().unwrap();
    path
}

/// The oracle: each x_k, and dx_n/dw and dx_n/dx_0 carried forward, z = x w, x' = s(z),
/// dx'/dw = s'(z) (x + w dx/dw), dx'/dx_0 = s'(z) w dx/dx_0, with s' = s (1 - s).
fn forward_mode() -> (Vec<f64>, f64, f64) {
    let (mut xs, mut dw, mut dx0) = (vec![X0], 0.0, 1.0);
    for _ in 0..LINKS {
        let x = *xs.last().unwrap();
        let s = 1.0 / (1.0 + (-(x * W)).exp());
        let ds = s * (1.0 - s);
        dw = ds * (x + W * dw);
        dx0 *= ds * W;
        xs.push(s);
    }
    (xs, dw, dx0)
}

/// Each link scales an error by s'(z) w, about 0.2 here (z about 0.6), so the engine's own
/// `exp` and the loop's, an ulp or two apart at each link, stay a few ulps apart however long
/// the chain: 1e-13 relative is some 500 ulps.
fn close(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-13 * want.abs(),
        "{what}: {got} vs {want}"
    );
}

/// A field of /proc/PID/status in bytes (`VmRSS`: resident now; `VmHWM`: the peak so far).
fn status_bytes(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Resets this process's VmHWM to its VmRSS (Linux 4.0 and later), so that the peak of an
/// earlier test is not counted; without it the measure can only be too high, never too low.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn per_node(bytes: u64) -> f64 {
    bytes as f64 / NODES as f64
}

#[test]
fn a_100k_node_graph_file_loads_and_is_differentiated_in_bounded_memory() {
    let _one_at_a_time = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let path = write_chain_file("library.json");
    let (xs, dw, dx0) = forward_mode();
    reset_peak();
    let before = status_bytes("self", "VmRSS");
    let loaded = backprop::graph_file::load_graph(&path).unwrap();
    let tape = loaded.graph.compile().unwrap();
    let mut ws = tape.workspace();
    tape.forward(&mut ws, &loaded.input_values).unwrap();
    tape.backward(&mut ws, loaded.output).unwrap();
    let peak = status_bytes("self", "VmHWM");
    std::fs::remove_file(&path).unwrap();

    let node = |id: usize| loaded.graph.node(id).unwrap(); // ids are creation order here
    close("x_n", tape.value(&ws, loaded.output).unwrap(), xs[LINKS]);
    close(
        "x_1000",
        tape.value(&ws, node(2 * 999 + 3)).unwrap(),
        xs[1000],
    );
    close("dx_n/dw", tape.gradient(&ws, node(1)).unwrap(), dw);
    // 0.2^49999 is far below the smallest subnormal: both sides are 0
    assert_eq!((tape.gradient(&ws, node(0)).unwrap(), dx0), (0.0, 0.0));

    if let (Some(before), Some(peak)) = (before, peak) {
        let peak = per_node(peak.saturating_sub(before));
        eprintln!("load + compile + forward + backward: {peak:.1} bytes per node at the peak");
        // Measured 119 to 122 bytes a node (x86_64, glibc, debug and test profiles): at the
        // peak, while the graph is built, the parsed nodes (id 8, kind 24, operand end 8, 1.5
        // operands 12: 52 bytes, and up to twice that in vectors that grew), the id map (about
        // 22) and the graph (about 40); the text (52 bytes a node) is let go of before. 200
        // leaves a margin of 1.6x; the loader that kept the text and a struct per node
        // measured 512.
        assert!(peak <= 200.0, "{peak} bytes per node at the peak");
    }
}

/// `backprop grad`'s standard output, read as the program writes it, noting the program's
/// peak resident memory after each read.
#[cfg(feature = "cli")]
struct Watched {
    out: std::process::ChildStdout,
    pid: String,
    peak: Option<u64>,
}

#[cfg(feature = "cli")]
impl std::io::Read for Watched {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.out.read(buf)?;
        // VmHWM only grows; the last reading before the program exits sees all but what it
        // does after its last write (letting memory go)
        if let Some(peak) = status_bytes(&self.pid, "VmHWM") {
            self.peak = Some(peak);
        }
        Ok(n)
    }
}

/// One row of `grad`'s `nodes`.
#[cfg(feature = "cli")]
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    gradient: f64,
    id: usize,
    #[allow(dead_code)] // present, of this type
    label: Option<String>,
    op: String,
    value: f64,
}

/// `grad`'s `nodes`, checked row by row as they are parsed (the test holds none of them):
/// node 2k + 3 is x_{k+1}, node 2k + 2 is x_k w.
#[cfg(feature = "cli")]
struct CheckedRows(usize);

#[cfg(feature = "cli")]
impl<'de> serde::Deserialize<'de> for CheckedRows {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<CheckedRows, D::Error> {
        struct Rows(Vec<f64>);
        impl<'de> serde::de::Visitor<'de> for Rows {
            type Value = CheckedRows;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("the rows of the nodes")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<CheckedRows, A::Error> {
                let xs = self.0;
                let mut count = 0;
                while let Some(row) = seq.next_element::<Row>()? {
                    assert_eq!(row.id, count, "rows in file order");
                    let (op, value) = match row.id {
                        0 => ("input", X0),
                        1 => ("param", W),
                        id if id % 2 == 0 => ("mul", xs[(id - 2) / 2] * W),
                        id => ("sigmoid", xs[(id - 1) / 2]),
                    };
                    assert_eq!(row.op, op, "node {}", row.id);
                    close(&format!("node {}", row.id), row.value, value);
                    assert!(row.gradient.is_finite());
                    count += 1;
                }
                Ok(CheckedRows(count))
            }
        }
        d.deserialize_seq(Rows(forward_mode().0))
    }
}

#[cfg(feature = "cli")]
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct GradOutput {
    gradient_wrt_leaves: std::collections::BTreeMap<String, f64>,
    nodes: CheckedRows,
    output: usize,
    value: f64,
}

#[cfg(feature = "cli")]
#[test]
fn grad_on_a_100k_node_graph_file_streams_its_output_in_bounded_memory() {
    use std::process::{Command, Stdio};
    let _one_at_a_time = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let path = write_chain_file("grad.json");
    let file_bytes = std::fs::metadata(&path).unwrap().len();
    let mut child = Command::new(env!("CARGO_BIN_EXE_backprop"))
        .arg("grad")
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut watched = Watched {
        out: child.stdout.take().unwrap(),
        pid: child.id().to_string(),
        peak: None,
    };
    let report: GradOutput =
        serde_json::from_reader(std::io::BufReader::new(&mut watched)).unwrap();
    let peak = watched.peak;
    let done = child.wait_with_output().unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );

    let (xs, dw, _) = forward_mode();
    assert_eq!(report.nodes.0, NODES);
    assert_eq!(report.output, NODES - 1);
    close("x_n", report.value, xs[LINKS]);
    close("dx_n/dw", report.gradient_wrt_leaves["w"], dw);
    assert_eq!(report.gradient_wrt_leaves["x0"], 0.0); // 0.2^49999 underflows
    assert_eq!(report.gradient_wrt_leaves.len(), 2);

    if let Some(peak) = peak {
        let peak = per_node(peak);
        eprintln!(
            "backprop grad: {peak:.1} bytes per node at the peak (the file: {:.1})",
            per_node(file_bytes)
        );
        // Measured 165 bytes a node, the program itself (about 3 MB, 30 bytes a node here)
        // included: the loader's peak (about 120, see above) or the text with the parsed
        // nodes. The output (130 bytes a node) is written as it is made. 400 is the issue's
        // target for 10^6 nodes (400 MB); the program that built the output as a JSON value
        // tree and a string before writing measured 1994, the loader before this one 554.
        assert!(peak <= 400.0, "{peak} bytes per node at the peak");
    }
}

/// `backprop predict` on `rows` rows of 4 columns (a version 2 classifier of 2 classes): the
/// program's peak resident memory, read as it writes, and the number of prediction rows.
#[cfg(feature = "cli")]
fn predict_peak(
    dir: &std::path::Path,
    model: &std::path::Path,
    rows: usize,
) -> (Option<u64>, usize) {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let data = dir.join(format!("rows-{rows}.csv"));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&data).unwrap());
    writeln!(out, "a,b,c,d").unwrap();
    for t in 0..rows {
        let v = (t % 1000) as f64 / 250.0 - 2.0;
        writeln!(out, "{v},{},{},{}", -v, v * 0.5, 1.0 - v).unwrap();
    }
    out.flush().unwrap();
    drop(out);
    let mut child = Command::new(env!("CARGO_BIN_EXE_backprop"))
        .args(["predict", "--model"])
        .arg(model)
        .arg("--data")
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut watched = std::io::BufReader::new(Watched {
        out: child.stdout.take().unwrap(),
        pid: child.id().to_string(),
        peak: None,
    });
    let mut lines = 0;
    let mut line = String::new();
    while watched.read_line(&mut line).unwrap() > 0 {
        lines += 1;
        line.clear();
    }
    let peak = watched.get_ref().peak;
    let done = child.wait_with_output().unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    std::fs::remove_file(&data).unwrap();
    (peak, lines - 1)
}

/// `predict` streams: read, predict and write one row at a time, so that its peak memory does
/// not grow with the number of rows. 10^4 and 10^5 rows must peak within 4 MB of each other;
/// the program that built every prediction before writing peaked about 24 MB higher at 10^5
/// (264 MB at 10^6 rows, about 260 bytes a row).
#[cfg(feature = "cli")]
#[test]
fn predict_streams_its_rows_in_memory_independent_of_their_number() {
    use backprop::data::{CsvOptions, Dataset, Scaler, Scaling};
    use backprop::model_file::{Model, Outputs, Schema};
    use backprop::nn::{Activation, Loss, MlpSpec};
    let _one_at_a_time = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::temp_dir().join(format!("backprop-predict-stream-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let train = Dataset::from_csv_str(
        "a,b,c,d,kind\n0,1,2,3,x\n1,0,3,2,y\n2,2,0,1,x\n",
        &CsvOptions::label("kind", None),
    )
    .unwrap();
    let scaler = Scaler::fit(Scaling::Standardize, &train).unwrap();
    let schema = Schema::for_data(&train, scaler, Outputs::Softmax).unwrap();
    let net = MlpSpec::new(&[4, 3, 2], Activation::Tanh, Activation::Identity)
        .with_loss(Loss::SoftmaxCrossEntropy)
        .build()
        .unwrap();
    let model = dir.join("model.json");
    Model::new(net, schema).unwrap().save(&model).unwrap();
    let (small, small_rows) = predict_peak(&dir, &model, 10_000);
    let (large, large_rows) = predict_peak(&dir, &model, 100_000);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!((small_rows, large_rows), (10_000, 100_000));
    if let (Some(small), Some(large)) = (small, large) {
        let growth = large.saturating_sub(small) as f64 / 1e6;
        eprintln!(
            "predict: peak {:.1} MB at 10^4 rows, {:.1} MB at 10^5",
            small as f64 / 1e6,
            large as f64 / 1e6
        );
        assert!(
            growth <= 4.0,
            "the peak grew by {growth:.1} MB from 10^4 to 10^5 rows"
        );
    }
}
