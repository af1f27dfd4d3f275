//! Plumbing of the benchmark: options, data files, process memory, JSON.

pub mod chain;
pub mod compare;
pub mod scaling;
pub mod train;

use std::path::PathBuf;

pub use serde_json::Value as Json;

/// Command-line options (unknown ones are an error; cargo's own `--bench` is ignored).
#[derive(Clone, Debug)]
pub struct Args {
    pub data: PathBuf,
    pub only: Option<Vec<String>>,
    pub smoke: bool,
    pub compare: bool,
    pub scaling: bool,
    pub threads: usize,
    pub chain_ns: Vec<usize>,
    pub chain_one: Option<usize>,
    pub runs: usize,
    pub lanes: usize,
    pub baseline: PathBuf,
    pub xor_epochs: Option<usize>,
    pub moons_steps: Option<usize>,
    pub digits_epochs: Option<usize>,
}

impl Args {
    pub fn parse() -> Args {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let mut a = Args {
            data: root.join("benches/data"),
            only: None,
            smoke: false,
            compare: false,
            scaling: false,
            threads,
            chain_ns: vec![10_000_000],
            chain_one: None,
            runs: 5,
            lanes: 64,
            baseline: root.join("target/baseline/release"),
            xor_epochs: None,
            moons_steps: None,
            digits_epochs: None,
        };
        let argv: Vec<String> = std::env::args().skip(1).collect();
        let mut i = 0;
        let value = |i: usize| -> String {
            argv.get(i + 1).cloned().unwrap_or_else(|| {
                eprintln!("missing value for {}", argv[i]);
                std::process::exit(2)
            })
        };
        let number = |s: String| -> usize {
            s.parse::<f64>().unwrap_or_else(|_| {
                eprintln!("not a number: {s}");
                std::process::exit(2)
            }) as usize
        };
        while i < argv.len() {
            match argv[i].as_str() {
                "--bench" => {}
                "--smoke" => a.smoke = true,
                "--compare" => a.compare = true,
                "--scaling" => a.scaling = true,
                "--data" => {
                    a.data = PathBuf::from(value(i));
                    i += 1;
                }
                "--baseline" => {
                    a.baseline = PathBuf::from(value(i));
                    i += 1;
                }
                "--only" => {
                    a.only = Some(value(i).split(',').map(|s| s.trim().to_string()).collect());
                    i += 1;
                }
                "--threads" => {
                    a.threads = number(value(i)).max(1);
                    i += 1;
                }
                "--lanes" => {
                    a.lanes = number(value(i)).max(1);
                    i += 1;
                }
                "--runs" => {
                    a.runs = number(value(i)).max(1);
                    i += 1;
                }
                "--chain-ns" => {
                    a.chain_ns = value(i).split(',').map(|s| number(s.to_string())).collect();
                    i += 1;
                }
                "--chain-one" => {
                    a.chain_one = Some(number(value(i)));
                    i += 1;
                }
                "--xor-epochs" => {
                    a.xor_epochs = Some(number(value(i)));
                    i += 1;
                }
                "--moons-steps" => {
                    a.moons_steps = Some(number(value(i)));
                    i += 1;
                }
                "--digits-epochs" => {
                    a.digits_epochs = Some(number(value(i)));
                    i += 1;
                }
                other => {
                    eprintln!(
                        "unknown option {other} (see the doc comment of benches/workloads.rs)"
                    );
                    std::process::exit(2);
                }
            }
            i += 1;
        }
        if a.smoke {
            a.chain_ns = vec![100_000];
            a.digits_epochs.get_or_insert(2);
        }
        a
    }

    pub fn wants(&self, workload: &str) -> bool {
        match &self.only {
            None => true,
            Some(v) => v.iter().any(|s| s == workload),
        }
    }
}

/// One data file of `benches/data` (a copy of `../shared/bench/data`).
pub struct Data {
    /// T x n_in, association-major.
    pub inputs: Vec<f64>,
    /// T x n_out.
    pub targets: Vec<f64>,
    pub labels: Option<Vec<usize>>,
    pub t: usize,
    pub sizes: Vec<usize>,
    pub w: Vec<Vec<Vec<f64>>>,
    pub b: Vec<Vec<f64>>,
    pub hidden: String,
    pub iters: usize,
}

impl Data {
    pub fn load(args: &Args, name: &str) -> Data {
        let path = args.data.join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let d: Json = serde_json::from_str(&text).expect("data file is JSON");
        let rows = |v: &Json| -> Vec<Vec<f64>> {
            v.as_array()
                .expect("a list of rows")
                .iter()
                .map(|r| {
                    r.as_array()
                        .expect("a row")
                        .iter()
                        .map(|x| x.as_f64().expect("a number"))
                        .collect()
                })
                .collect()
        };
        let inputs = rows(&d["inputs"]);
        let targets = rows(&d["targets"]);
        let init = &d["init"];
        let sizes: Vec<usize> = init["sizes"]
            .as_array()
            .expect("sizes")
            .iter()
            .map(|n| n.as_u64().expect("a size") as usize)
            .collect();
        let w: Vec<Vec<Vec<f64>>> = init["W"].as_array().expect("W").iter().map(rows).collect();
        let b = rows(&init["b"]);
        let iters = d["epochs"]
            .as_u64()
            .or(d["steps"].as_u64())
            .expect("epochs or steps") as usize;
        let labels = d["labels"].as_array().map(|l| {
            l.iter()
                .map(|x| x.as_u64().expect("a label") as usize)
                .collect()
        });
        Data {
            t: inputs.len(),
            inputs: inputs.concat(),
            targets: targets.concat(),
            labels,
            sizes,
            w,
            b,
            hidden: d["hidden"].as_str().expect("hidden").to_string(),
            iters,
        }
    }
}

/// A field of /proc/self/status in bytes (VmRSS, VmHWM).
pub fn proc_status_bytes(field: &str) -> u64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    s.lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| {
            rest.trim_start_matches(':')
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// Seconds this thread has run on a CPU (Linux schedstat), a measure less disturbed by other
/// processes than wall time on a shared machine; 0 where unavailable.
pub fn thread_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |ns| ns * 1e-9)
}

/// Resets the kernel's peak-RSS mark of this process (Linux: 5 into clear_refs).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// `|a - b| / |b|`.
pub fn relative(a: f64, b: f64) -> f64 {
    if a == b { 0.0 } else { (a - b).abs() / b.abs() }
}

/// The median of some numbers.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}
