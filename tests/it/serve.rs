//! The playground's server on an ephemeral port: the worked example's steps against
//! `walkthrough`'s exact values and the textbook delta rule, every refusal, sessions apart,
//! limits, training, the saved model, and the command stopping on Ctrl-C.

use crate::http;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use backprop::serve::walk::number;
use backprop::serve::{Limits, Options, Server};
use backprop::textbook::TextbookNet;
use backprop::trace::{Section, Trace};
use backprop::tutorial::{self, WORKED_INPUT, WORKED_LEARNING_RATE, WORKED_TARGET};
use http::{Session, raw, request};
use serde_json::Value;

/// Starts a server on a free loopback port; it runs until the test process ends.
fn start(limits: Limits) -> SocketAddr {
    let server = Server::bind(Options {
        port: 0,
        limits,
        ..Options::default()
    })
    .expect("the server binds a free port");
    let addr = server.addr();
    std::thread::spawn(move || server.run());
    addr
}

const WORKED_WALK: &str = r#"{"association": 0, "learning_rate": 0.01}"#;

fn steps(session: &Session, walk: &str) -> Vec<Value> {
    let outline = session.ok("/api/walk", walk);
    let count = outline["count"].as_u64().expect("a count") as usize;
    let with_index = |i: usize| {
        let mut body: Value = serde_json::from_str(walk).expect("JSON");
        body["index"] = i.into();
        body.to_string()
    };
    (0..count)
        .map(|i| session.ok("/api/step", &with_index(i))["step"].clone())
        .collect()
}

fn section_named(title: &str) -> Section {
    [
        Section::Forward,
        Section::Error,
        Section::Backward,
        Section::Gradients,
        Section::Update,
        Section::After,
    ]
    .into_iter()
    .find(|s| s.title() == title)
    .unwrap_or_else(|| panic!("unknown section {title:?}"))
}

#[test]
fn worked_example_steps_carry_walkthroughs_exact_values() {
    let addr = start(Limits::default());
    let session = Session::new(addr);
    let steps = steps(&session, WORKED_WALK);
    // the oracle: the trace `backprop walkthrough` prints, computed here by the library
    let trace = tutorial::worked_example_trace().expect("the worked example's trace");
    let mut seen = 0;
    for step in &steps {
        for q in step["quantities"].as_array().expect("quantities") {
            let name = q["name"].as_str().expect("a name");
            let section = section_named(q["section"].as_str().expect("a section"));
            let expected = trace
                .value(section, name)
                .unwrap_or_else(|| panic!("{name} is not in the trace's {section:?}"));
            // JSON numbers round-trip exactly (serde_json's float_roundtrip), so equality is exact
            assert_eq!(q["graph"].as_f64(), Some(expected), "{name}");
            seen += 1;
        }
    }
    // every line of the trace but the "after" section's output lines appears in a step
    assert_eq!(seen, trace.steps.len() - 2);
    let phases: Vec<&str> = steps
        .iter()
        .map(|s| s["phase"].as_str().expect("a phase"))
        .collect();
    // 2 inputs, 2 hidden, 1 output node; the error; layers k then j; the update
    assert_eq!(
        phases,
        [
            "forward", "forward", "forward", "forward", "forward", "error", "backward", "backward",
            "update"
        ]
    );
}

#[test]
fn worked_example_formulas_put_the_numbers_in_the_tutorials_notation() {
    let addr = start(Limits::default());
    let session = Session::new(addr);
    let steps = steps(&session, WORKED_WALK);
    let trace = tutorial::worked_example_trace().expect("the trace");
    let value = |section, name| trace.value(section, name).expect("in the trace");
    let formula = |name: &str| -> String {
        steps
            .iter()
            .flat_map(|s| s["quantities"].as_array().expect("quantities"))
            .find(|q| q["name"] == name)
            .and_then(|q| q["formula"].as_str())
            .unwrap_or_else(|| panic!("no {name}"))
            .to_string()
    };
    let y_j = value(Section::Forward, "y_j[0]");
    let delta_k = value(Section::Backward, "delta_k[0]");
    // sigmoid' = y (1 - y); the worked example's w_jk are 0.5
    assert_eq!(
        formula("delta_j[0]"),
        format!(
            "delta_j[0] = f'(x_j) * sum_k delta_k w_jk = {} * ({} * 0.5) = {}",
            number(y_j * (1.0 - y_j)),
            number(delta_k),
            number(value(Section::Backward, "delta_j[0]"))
        )
    );
    assert!(formula("delta_j[0]").ends_with("= 0.196612 * (0.231059 * 0.5) = 0.022714"));
    assert_eq!(
        formula("dE/dw_jk[0->0]"),
        format!(
            "dE/dw_jk[0->0] = delta_k * y_j = {} * {} = {}",
            number(delta_k),
            number(y_j),
            number(value(Section::Gradients, "dE/dw_jk[0->0]"))
        )
    );
    assert_eq!(
        formula("x_j[0]"),
        "x_j[0] = sum_i w_ij y_i = 0.5 * 1.0 + 0.5 * 1.0 = 1.0"
    );
}

#[test]
fn each_quantity_has_the_textbook_value_beside_the_graphs() {
    let addr = start(Limits::default());
    let session = Session::new(addr);
    // a deeper network with bias, so that the hidden recursion runs twice
    session.ok(
        "/api/build",
        r#"{"network": {"layers": {"sizes": [2, 3, 2, 1], "activations": ["tanh", "sigmoid", "identity"],
            "bias": -1.0, "init": {"random": {"seed": 3, "low": -1.0, "high": 1.0}}}},
            "data": {"preset": "xor"}}"#,
    );
    let walk = r#"{"association": 1, "learning_rate": 0.1}"#;
    let steps = steps(&session, walk);
    // the oracle: the textbook delta rule on the same weights (the model the server sends)
    let net =
        backprop::model_file::from_json_str(&session.get("/api/model").body).expect("the model");
    let book = TextbookNet::from_mlp(&net);
    let pass = book.pass(&[1.0, 0.0], &[1.0]).expect("a pass");
    let mut deltas = 0;
    for q in steps
        .iter()
        .flat_map(|s| s["quantities"].as_array().expect("quantities"))
    {
        let (graph, textbook) = (
            q["graph"].as_f64().unwrap(),
            q["textbook"].as_f64().unwrap(),
        );
        assert_eq!(q["difference"].as_f64(), Some(graph - textbook));
        // the two computations differ only by rounding: a few ulps of values of order 1
        assert!((graph - textbook).abs() < 1e-12, "{q}");
        let name = q["name"].as_str().unwrap();
        if let Some(rest) = name.strip_prefix("delta_l") {
            let (l, j) = rest.split_once('[').unwrap();
            let (l, j): (usize, usize) =
                (l.parse().unwrap(), j.trim_end_matches(']').parse().unwrap());
            assert_eq!(textbook, pass.delta[l][j], "{name}");
            deltas += 1;
        }
    }
    assert_eq!(deltas, 3 + 2 + 1);
    // and the graph's numbers are `walkthrough`'s for this network too
    let trace = Trace::training_step(&net, &[1.0, 0.0], &[1.0], 0.1).expect("a trace");
    for q in steps
        .iter()
        .flat_map(|s| s["quantities"].as_array().expect("quantities"))
    {
        let section = section_named(q["section"].as_str().unwrap());
        let name = q["name"].as_str().unwrap();
        assert_eq!(q["graph"].as_f64(), trace.value(section, name), "{name}");
    }
}

#[test]
fn walk_sends_the_graph_that_reverse_mode_walks() {
    let addr = start(Limits::default());
    let session = Session::new(addr);
    let outline = session.ok("/api/walk", WORKED_WALK);
    let graph = outline["graph"].as_array().expect("graph nodes");
    let net = tutorial::worked_example().unwrap();
    assert_eq!(graph.len(), net.graph().len());
    let eval = net.evaluate(&WORKED_INPUT, &WORKED_TARGET).unwrap();
    let (values, adjoints) = (eval.node_values(), eval.gradients());
    for (n, node) in graph.iter().enumerate() {
        assert_eq!(node["value"].as_f64(), Some(values[n]));
        assert_eq!(node["adjoint"].as_f64(), Some(adjoints.as_slice()[n]));
    }
    let kinds: Vec<&str> = graph.iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"dot") && kinds.contains(&"sigmoid") && kinds.contains(&"sub"));
    // the backward step of the output layer highlights its dot and knows its adjoint
    let step = session.ok(
        "/api/step",
        r#"{"association": 0, "learning_rate": 0.01, "index": 6}"#,
    )["step"]
        .clone();
    assert_eq!(step["title"], "backward: layer k");
    let x_k = net.x_node(2, 0).unwrap().index();
    let focus: Vec<u64> = serde_json::from_value(step["graph"]["focus"].clone()).unwrap();
    let known: Vec<u64> = serde_json::from_value(step["graph"]["adjoints_known"].clone()).unwrap();
    assert!(focus.contains(&(x_k as u64)) && known.contains(&(x_k as u64)));
    // ... but not yet the hidden layer's delta
    let x_j = net.x_node(1, 0).unwrap().index() as u64;
    assert!(!known.contains(&x_j));
    assert_eq!(
        outline["values"]["delta"][1][0].as_f64(),
        Some(eval.delta(1, 0).unwrap())
    );
    assert_eq!(
        outline["learning_rate"].as_f64(),
        Some(WORKED_LEARNING_RATE)
    );
}

/// Every kind of bad request: its status and the words of its message.
#[test]
fn bad_requests_are_refused_with_a_message_naming_what_is_wrong() {
    let limits = Limits {
        max_body_bytes: 10_000,
        ..Limits::default()
    };
    let addr = start(limits);
    let s = Session::new(addr);
    let host = addr.to_string();
    let cases: Vec<(http::Reply, u16, &str)> = vec![
        (
            request(addr, "GET", "/", &[("Host", "evil.example:80")], ""),
            403,
            "the Host header \"evil.example:80\" is not this server's",
        ),
        (
            request(addr, "POST", "/api/session", &[("Origin", "http://evil.example")], "{}"),
            403,
            "the Origin \"http://evil.example\" is not this server's",
        ),
        (
            request(addr, "POST", "/api/session", &[("Origin", "null")], "{}"),
            403,
            "the Origin \"null\"",
        ),
        (
            raw(addr, b"GET / HTTP/1.0\r\n\r\n"),
            400,
            "no Host header",
        ),
        (
            request(addr, "GET", "/nothing", &[], ""),
            404,
            "no endpoint GET /nothing",
        ),
        (
            request(addr, "GET", "/api/train", &[], ""),
            405,
            "GET is not allowed on /api/train: use POST",
        ),
        (
            request(addr, "POST", "/api/walk", &[], WORKED_WALK),
            401,
            "this page has no playground session: reload the page to start one",
        ),
        (
            request(addr, "POST", "/api/walk", &[("X-Backprop-Session", "0123")], WORKED_WALK),
            401,
            "unknown or expired session",
        ),
        (s.post("/api/walk", "{\"association\": 0,"), 400, "invalid request body: EOF"),
        (
            s.post("/api/walk", r#"{"association": 0, "learning_rate": 0.1, "colour": 1}"#),
            400,
            "unknown field `colour`",
        ),
        (s.post("/api/walk", r#"{"association": 0}"#), 400, "missing field `learning_rate`"),
        (
            s.post("/api/walk", r#"{"association": "first", "learning_rate": 0.1}"#),
            400,
            "invalid type: string \"first\"",
        ),
        (
            s.post("/api/walk", r#"{"association": 0, "learning_rate": 1e999}"#),
            400,
            "number out of range",
        ),
        (
            s.post("/api/walk", r#"{"association": 0, "learning_rate": NaN}"#),
            400,
            "invalid request body",
        ),
        (
            s.post("/api/walk", r#"{"association": 0, "learning_rate": -1}"#),
            400,
            "invalid learning_rate: must be a positive number, got -1",
        ),
        (
            s.post("/api/walk", r#"{"association": 7, "learning_rate": 0.1}"#),
            400,
            "invalid association: 7 is out of range: the data has 1 associations",
        ),
        (
            s.post("/api/step", r#"{"association": 0, "learning_rate": 0.1, "index": 99}"#),
            400,
            "invalid index: step 99 is out of range: the walk has 9 steps",
        ),
        (
            s.post("/api/build", r#"{"network": {"layers": {"sizes": [2, 2, 1], "activations": ["sigmoid"], "bias": null, "init": {"constant": 0.5}}}, "data": {"preset": "xor"}}"#),
            400,
            "invalid activations: one per layer after the input: expected 2, got 1",
        ),
        (
            s.post("/api/build", r#"{"network": {"layers": {"sizes": [2, 0, 1], "activations": ["sigmoid", "identity"], "bias": null, "init": {"constant": 0.5}}}, "data": {"preset": "xor"}}"#),
            400,
            "layer 1 has width 0",
        ),
        (
            s.post("/api/build", r#"{"network": {"layers": {"sizes": [2, 2, 1], "activations": ["softplus", "identity"], "bias": null, "init": {"constant": 0.5}}}, "data": {"preset": "xor"}}"#),
            400,
            "unknown activation \"softplus\"",
        ),
        (
            s.post("/api/build", r#"{"network": {"layers": {"sizes": [3, 2, 1], "activations": ["sigmoid", "identity"], "bias": 1, "init": {"constant": 0.5}}}, "data": {"preset": "xor"}}"#),
            400,
            "the data has 2 inputs and 1 targets per association, the network's input and output layers have 3 and 1 nodes",
        ),
        (
            s.post("/api/build", r#"{"network": {"layers": {"sizes": [2, 2, 1], "activations": ["sigmoid", "identity"], "bias": 1, "init": {"random": {"seed": 1, "low": 1, "high": -1}}}}, "data": {"preset": "xor"}}"#),
            400,
            "uniform range [1, -1) is empty",
        ),
        (
            s.post("/api/build", r#"{"network": {"layers": {"sizes": [2, 2, 1], "activations": ["sigmoid", "identity"], "bias": 1, "init": {"constant": 0.5}}}, "data": {"csv": {"text": "a,b,y\n1,2,3\n4,five,6\n", "targets": ["y"]}}}"#),
            400,
            "line 3, column 2 (b)",
        ),
        (
            s.post("/api/build", r#"{"network": {"layers": {"sizes": [2, 2, 1], "activations": ["sigmoid", "identity"], "bias": 1, "init": {"constant": 0.5}}}, "data": {"csv": {"text": "a,b,y\n1,2,3\n", "targets": ["z"]}}}"#),
            400,
            "no column named \"z\"",
        ),
        (
            s.post("/api/build", r#"{"network": {"model": "{\"format\": \"something\"}"}, "data": {"preset": "xor"}}"#),
            400,
            "invalid model file",
        ),
        (
            s.post("/api/build", r#"{"network": {"layers": {"sizes": [2, 400, 400, 1], "activations": ["relu", "relu", "identity"], "bias": 1, "init": {"constant": 0.5}}}, "data": {"preset": "xor"}}"#),
            400,
            // (2 + 1) * 400 + (400 + 1) * 400 + (400 + 1) * 1, bias weights included
            "the network has 162001 weights, over the playground's limit of 100000",
        ),
        (
            s.post("/api/train", r#"{"epochs": 0, "learning_rate": 0.1, "optimiser": "gd", "batch": "full"}"#),
            400,
            "invalid epochs: must be from 1 to 10000, got 0",
        ),
        (
            s.post("/api/train", r#"{"epochs": 1, "learning_rate": 0.1, "optimiser": "sgd", "batch": "full"}"#),
            400,
            "unknown variant `sgd`",
        ),
        (
            s.post("/api/train", r#"{"epochs": 1, "learning_rate": 0.1, "optimiser": "gd", "batch": {"mini": 5}}"#),
            400,
            "invalid batch size: must be between 1 and the number of associations (1), got 5",
        ),
        (
            // {"pad": "x..."}: 9 + 10,001 + 2 bytes
            s.post("/api/walk", &format!("{{\"pad\": \"{}\"}}", "x".repeat(10_001))),
            413,
            "the request body is 10012 bytes, over the limit of 10000",
        ),
        (
            s.post("/api/reset", "{\"weights\": 1}"),
            400,
            "unknown field `weights`",
        ),
    ];
    for (n, (reply, status, words)) in cases.iter().enumerate() {
        assert_eq!(reply.status, *status, "case {n}: {}", reply.body);
        let message = reply.error();
        assert!(
            message.contains(words),
            "case {n}: {message:?} lacks {words:?}"
        );
    }
    // a non-UTF-8 body
    let mut bytes = format!(
        "POST /api/walk HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nX-Backprop-Session: {}\r\nContent-Length: 2\r\n\r\n",
        s.token
    )
    .into_bytes();
    bytes.extend_from_slice(&[0xff, 0xfe]);
    let reply = raw(addr, &bytes);
    assert_eq!(reply.status, 400);
    assert!(reply.error().contains("not UTF-8"), "{}", reply.body);
    // after all of that the server still serves, and the session is as it was
    let page = request(addr, "GET", "/", &[], "");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<html") || page.body.contains("<!doctype html"));
    assert_eq!(s.ok("/api/walk", WORKED_WALK)["count"], 9);
    // training that diverges: a linear network (nothing saturates) and a huge step
    s.ok(
        "/api/build",
        r#"{"network": {"layers": {"sizes": [2, 1], "activations": ["identity"], "bias": 1,
            "init": {"constant": 0.5}}}, "data": {"preset": "xor"}}"#,
    );
    let diverged = s.post(
        "/api/train",
        r#"{"epochs": 50, "learning_rate": 1e300, "optimiser": "gd", "batch": "full"}"#,
    );
    assert_eq!(diverged.status, 422, "{}", diverged.body);
    assert!(diverged.error().contains("diverged"), "{}", diverged.body);
}

#[test]
fn the_servers_own_origin_and_loopback_names_are_accepted() {
    let addr = start(Limits::default());
    let port = addr.port();
    for host in [
        addr.to_string(),
        format!("localhost:{port}"),
        format!("LOCALHOST:{port}"),
    ] {
        let origin = format!("http://{host}");
        let reply = request(
            addr,
            "POST",
            "/api/session",
            &[("Host", &host), ("Origin", &origin)],
            "{}",
        );
        assert_eq!(reply.status, 200, "{host}: {}", reply.body);
    }
    // the same name on another port is another server
    let reply = request(
        addr,
        "GET",
        "/",
        &[("Host", &format!("127.0.0.1:{}", port ^ 1))],
        "",
    );
    assert_eq!(reply.status, 403);
    // the page says what may frame or script it
    let page = request(addr, "GET", "/", &[], "");
    assert!(
        page.header("Content-Security-Policy")
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
}

#[test]
fn two_sessions_do_not_see_each_other() {
    let addr = start(Limits::default());
    let (a, b) = (Session::new(addr), Session::new(addr));
    assert_ne!(a.token, b.token);
    let before = b.ok("/api/walk", WORKED_WALK);
    a.ok(
        "/api/build",
        r#"{"network": {"layers": {"sizes": [2, 2, 1], "activations": ["sigmoid", "sigmoid"],
            "bias": 1.0, "init": {"random": {"seed": 1, "low": -1.0, "high": 1.0}}}},
            "data": {"preset": "xor"}}"#,
    );
    a.ok(
        "/api/train",
        r#"{"epochs": 100, "learning_rate": 0.5, "optimiser": "gd", "batch": "full"}"#,
    );
    assert_eq!(
        a.ok("/api/walk", WORKED_WALK)["values"]["sizes"],
        serde_json::json!([2, 2, 1])
    );
    // b still has the worked example, untrained
    assert_eq!(b.ok("/api/walk", WORKED_WALK), before);
    let state = b.get("/api/state").json();
    assert_eq!(
        (state["associations"].as_u64(), state["epochs"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(a.get("/api/state").json()["epochs"], 100);
}

#[test]
fn training_xor_through_the_api_reaches_a_small_error_and_saves_the_model() {
    let addr = start(Limits::default());
    let s = Session::new(addr);
    s.ok(
        "/api/build",
        r#"{"network": {"layers": {"sizes": [2, 3, 1], "activations": ["sigmoid", "sigmoid"],
            "bias": 1.0, "init": {"random": {"seed": 1, "low": -1.0, "high": 1.0}}}},
            "data": {"preset": "xor"}}"#,
    );
    let mut error = f64::INFINITY;
    let mut epochs = 0;
    let mut curve = Vec::new();
    for _ in 0..100 {
        let reply = s.ok(
            "/api/train",
            r#"{"epochs": 200, "learning_rate": 0.1, "optimiser": "adam", "batch": "full", "surface": 20}"#,
        );
        epochs += reply["epochs_run"].as_u64().unwrap();
        curve.extend(
            reply["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_f64().unwrap()),
        );
        error = reply["error"].as_f64().unwrap();
        assert_eq!(reply["surface"]["values"].as_array().unwrap().len(), 400);
        if error < 0.01 {
            break;
        }
    }
    assert!(error < 0.01, "XOR error {error} after {epochs} epochs");
    assert_eq!(curve.len() as u64, epochs);
    // the model file is `train --save`'s format and holds the trained weights: it predicts XOR
    let model = s.get("/api/model");
    assert_eq!(
        model.header("Content-Disposition"),
        Some("attachment; filename=\"model.json\"")
    );
    let net = backprop::model_file::from_json_str(&model.body).expect("a model file");
    for (x, y) in [
        ([0.0, 0.0], 0.0),
        ([0.0, 1.0], 1.0),
        ([1.0, 0.0], 1.0),
        ([1.0, 1.0], 0.0),
    ] {
        // E = sum of 1/2 (y - y')^2 < 0.01 means each |y - y'| < sqrt(0.02) ~ 0.14
        assert!((net.predict(&x).unwrap()[0] - y).abs() < 0.15);
    }
    // reset: the initial weights, no history
    let state = s.ok("/api/reset", "{}");
    assert_eq!(state["epochs"], 0);
    let reset = backprop::model_file::from_json_str(&s.get("/api/model").body).unwrap();
    let fresh = backprop::nn::MlpSpec::new(
        &[2, 3, 1],
        backprop::nn::Activation::Sigmoid,
        backprop::nn::Activation::Sigmoid,
    )
    .with_init(backprop::nn::Init::Uniform {
        low: -1.0,
        high: 1.0,
    })
    .with_seed(1)
    .build()
    .unwrap();
    assert_eq!(reset.params(), fresh.params());
}

#[test]
fn limits_on_sessions_idle_time_and_training_work_are_enforced() {
    let limits = Limits {
        max_sessions: 2,
        idle_seconds: 1,
        train_work_per_request: 1_000,
        ..Limits::default()
    };
    let addr = start(limits);
    let a = Session::new(addr);
    a.get("/api/state");
    let b = Session::new(addr);
    // the store is full: a third session replaces the one never used since its creation
    let c = Session::new(addr);
    assert_eq!(b.get("/api/state").status, 401);
    assert_eq!(a.get("/api/state").status, 200);
    assert_eq!(c.get("/api/state").status, 200);
    // training work: the worked example's graph has 13 nodes and 6 weights, one association:
    // 19 units per epoch, so 1,000 units allow 52 of the 10,000 epochs asked for
    let net = tutorial::worked_example().unwrap();
    let per_epoch = (net.graph().len() + net.params().len()) as u64;
    let reply = a.ok(
        "/api/train",
        r#"{"epochs": 10000, "learning_rate": 0.01, "optimiser": "gd", "batch": "full"}"#,
    );
    assert_eq!(reply["epochs_run"].as_u64(), Some(1_000 / per_epoch));
    // idle sessions are dropped (idle time 1 s; the sweep runs at least once a second)
    std::thread::sleep(Duration::from_millis(3_500));
    let gone = a.post("/api/walk", WORKED_WALK);
    assert_eq!(gone.status, 401);
    assert!(gone.error().contains("unknown or expired session"));
    assert_eq!(request(addr, "POST", "/api/session", &[], "{}").status, 200);
}

#[test]
fn a_second_training_job_for_a_session_is_refused_while_one_runs() {
    // no work budget and 3 s of engine time: the first job runs all of its epochs
    let addr = start(Limits {
        train_work_per_request: u64::MAX,
        engine_millis: 3_000,
        ..Limits::default()
    });
    let s = Session::new(addr);
    s.ok(
        "/api/build",
        r#"{"network": {"layers": {"sizes": [2, 64, 64, 1], "activations": ["tanh", "tanh", "sigmoid"],
            "bias": 1.0, "init": {"random": {"seed": 1, "low": -0.5, "high": 0.5}}}},
            "data": {"preset": "moons"}}"#,
    );
    // a job of about two seconds, whatever the speed of this build: time 20 epochs first
    let timed = s.ok(
        "/api/train",
        r#"{"epochs": 20, "learning_rate": 0.01, "optimiser": "adam", "batch": "full"}"#,
    );
    let per_epoch = timed["seconds"].as_f64().unwrap() / 20.0;
    let epochs = ((2.0 / per_epoch) as usize).clamp(20, 10_000);
    let token = s.token.clone();
    let long = std::thread::spawn(move || {
        let s = Session { addr, token };
        s.post(
            "/api/train",
            &format!(
                r#"{{"epochs": {epochs}, "learning_rate": 0.01, "optimiser": "adam", "batch": "full"}}"#
            ),
        )
    });
    // let the long job take the session first
    std::thread::sleep(Duration::from_millis(200));
    let start = Instant::now();
    let mut refused = None;
    while !long.is_finished() && start.elapsed() < Duration::from_secs(60) {
        let reply = s.post(
            "/api/train",
            r#"{"epochs": 1, "learning_rate": 0.01, "optimiser": "gd", "batch": "full"}"#,
        );
        if reply.status == 409 {
            refused = Some(reply.error());
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let message = refused.expect("a concurrent training request was refused");
    assert!(message.contains("a training job is already running for this session"));
    assert_eq!(long.join().unwrap().status, 200);
}

#[test]
fn serve_prints_its_address_warns_off_loopback_and_stops_on_ctrl_c() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_backprop"))
        .args(["serve", "--port", "0", "--host", "0.0.0.0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("backprop playground: ")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_string();
    let addr: SocketAddr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("an address");
    let page = request(addr, "GET", "/", &[], "");
    assert_eq!(page.status, 200);
    // bound to every interface: any IP literal with the port is accepted, a name is not
    let named = request(
        addr,
        "GET",
        "/",
        &[("Host", &format!("example.com:{}", addr.port()))],
        "",
    );
    assert_eq!(named.status, 403);
    // Ctrl-C: SIGINT
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let start = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "still running after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // the default action of SIGINT: nothing to flush (the server writes no file), the kernel
    // closes the socket
    use std::os::unix::process::ExitStatusExt;
    assert!(
        exit.signal() == Some(2) || exit.code() == Some(0),
        "{exit:?}"
    );
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("warning: listening on 0.0.0.0"), "{stderr}");
    // the port is free again
    assert!(std::net::TcpListener::bind(addr).is_ok());
}

#[test]
fn serve_refuses_an_invalid_model_file() {
    let dir = std::env::temp_dir().join(format!("backprop-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.json");
    std::fs::write(&path, "{\"format\": \"backprop-model\", \"version\": 1}").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_backprop"))
        .args(["serve", "--port", "0", "--model", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot load the model"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_csv_from_the_page_and_a_model_from_the_command_line_are_used() {
    // a model every new session starts with: 3 inputs, so the worked association does not fit
    // and the session gets one association of zeros
    let model = backprop::nn::MlpSpec::new(
        &[3, 2, 1],
        backprop::nn::Activation::Tanh,
        backprop::nn::Activation::Identity,
    )
    .with_seed(4)
    .build()
    .unwrap();
    let text = backprop::model_file::to_json_string(&model).unwrap();
    let server = Server::bind(Options {
        port: 0,
        model: Some(text),
        ..Options::default()
    })
    .unwrap();
    let addr = server.addr();
    std::thread::spawn(move || server.run());
    let s = Session::new(addr);
    let state = s.get("/api/state").json();
    assert_eq!(state["sizes"], serde_json::json!([3, 2, 1]));
    assert_eq!(state["associations"], 1);
    let saved = backprop::model_file::from_json_str(&s.get("/api/model").body).unwrap();
    assert_eq!(saved.params(), model.params());
    // a CSV of two associations, target column named
    let built = s.ok(
        "/api/build",
        r#"{"network": {"layers": {"sizes": [2, 2, 1], "activations": ["sigmoid", "identity"],
            "bias": null, "init": {"constant": 0.5}}},
            "data": {"csv": {"text": "a,b,y\n1,1,0.5\n0,1,1\n", "targets": ["y"]}}}"#,
    );
    assert_eq!(built["associations"], 2);
    assert_eq!(built["input_names"], serde_json::json!(["a", "b"]));
    // its first association is the worked example's: the same walk
    let steps = steps(&s, WORKED_WALK);
    let trace = tutorial::worked_example_trace().unwrap();
    let delta_j = steps
        .iter()
        .flat_map(|s| s["quantities"].as_array().unwrap())
        .find(|q| q["name"] == "delta_j[0]")
        .unwrap();
    assert_eq!(
        delta_j["graph"].as_f64(),
        trace.value(Section::Backward, "delta_j[0]")
    );
    // a model that does not fit the data is refused, naming both shapes
    let text = backprop::model_file::to_json_string(&model).unwrap();
    let body = serde_json::json!({"network": {"model": text}, "data": {"preset": "xor"}});
    let reply = s.post("/api/build", &body.to_string());
    assert_eq!(reply.status, 400);
    assert!(
        reply
            .error()
            .contains("the network's input and output layers have 3 and 1 nodes")
    );
}
