//! The playground's data in the plane through its API: generated points split into training
//! and test points, read through features; the test error and the neuron pictures it sends
//! against the textbook delta rule's forward pass; L2 regularisation against its closed form.

use crate::http::{self, Session};

use std::net::SocketAddr;

use backprop::serve::{Options, Server};
use backprop::textbook::TextbookNet;
use serde_json::Value;

fn start() -> SocketAddr {
    let server = Server::bind(Options {
        port: 0,
        ..Options::default()
    })
    .expect("the server binds a free port");
    let addr = server.addr();
    std::thread::spawn(move || server.run());
    addr
}

/// A 3-4-1 network on 40 circle points read as (x1, x1*x2, sin x2), a quarter held out.
const BUILD: &str = r#"{
    "network": {"layers": {"sizes": [3, 4, 1], "activations": ["tanh", "sigmoid"], "bias": 1,
        "init": {"random": {"seed": 5, "low": -1, "high": 1}}}},
    "data": {"plane": {"set": "circle", "count": 40, "noise": 0.1, "test_fraction": 0.25,
        "features": ["x1", "x1_x2", "sin_x2"], "seed": 3}}
}"#;

fn features(point: &Value) -> (Vec<f64>, Vec<f64>) {
    let p: Vec<f64> = point
        .as_array()
        .expect("a point")
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect();
    (vec![p[0], p[0] * p[1], p[1].sin()], vec![p[2]])
}

fn textbook(session: &Session) -> TextbookNet {
    let model = http::request(
        session.addr,
        "GET",
        "/api/model",
        &[("X-Backprop-Session", &session.token)],
        "",
    );
    assert_eq!(model.status, 200, "{}", model.body);
    TextbookNet::from_mlp(&backprop::model_file::from_json_str(&model.body).expect("a model"))
}

#[test]
fn plane_data_is_split_read_through_features_and_its_test_error_is_the_textbooks() {
    let session = Session::new(start());
    let summary = session.ok("/api/build", BUILD);
    assert_eq!(
        summary["input_names"],
        serde_json::json!(["x1", "x1*x2", "sin(x2)"])
    );
    let test_points = summary["test_points"].as_array().expect("test points");
    assert_eq!(
        (summary["associations"].as_u64(), test_points.len()),
        (Some(30), 10)
    );
    // the pictures: every neuron over a 16 x 16 grid, the surface over 40 x 40
    let pictures = &summary["pictures"];
    assert_eq!(pictures["values"].as_array().map(Vec::len), Some(1600));
    let maps = pictures["heatmaps"]["values"].as_array().expect("heatmaps");
    let widths: Vec<usize> = maps
        .iter()
        .map(|l| l.as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(widths, [3, 4, 1]);
    assert!(
        maps.iter()
            .flat_map(|l| l.as_array().unwrap())
            .all(|m| m.as_array().unwrap().len() == 256)
    );

    let reply = session.ok(
        "/api/train",
        r#"{"epochs": 3, "learning_rate": 0.1, "optimiser": "gd", "batch": "full"}"#,
    );
    // the oracle: the textbook rule's forward pass at the weights reached, on the test points
    // read through the same features, 1/2 (y - t)^2 averaged
    let book = textbook(&session);
    let expected = test_points
        .iter()
        .map(|p| {
            let (x, t) = features(p);
            book.pass(&x, &t).expect("a pass").error
        })
        .sum::<f64>()
        / test_points.len() as f64;
    let got = reply["test_error"].as_f64().expect("a test error");
    // the engine and the textbook sum in different orders: a few ulps
    assert!(
        (got - expected).abs() <= 1e-12 * expected.max(1.0),
        "{got} vs {expected}"
    );
}

#[test]
fn l2_regularisation_adds_its_closed_form_to_each_update() {
    // one full-batch gradient descent step from the same weights, without and with the penalty
    // alpha * sum w^2: its gradient 2 alpha w makes w' = w - eta (g + 2 alpha w), so the two
    // results differ by -2 eta alpha w for every weight (biases included), to the rounding of
    // weights of size about 1 (an ulp is 2.2e-16; 1e-15 allows the few roundings of the step)
    let (eta, alpha) = (0.1, 0.05);
    let addr = start();
    let weights = |l2: f64| {
        let session = Session::new(addr);
        session.ok("/api/build", BUILD);
        let before = textbook(&session);
        session.ok(
            "/api/train",
            &format!(
                r#"{{"epochs": 1, "learning_rate": {eta}, "optimiser": "gd", "batch": "full", "l2": {l2}}}"#
            ),
        );
        (before, textbook(&session))
    };
    let (start_plain, plain) = weights(0.0);
    let (start_l2, with_l2) = weights(alpha);
    assert_eq!(start_plain.w, start_l2.w);
    for l in 0..plain.w.len() {
        for j in 0..plain.w[l].len() {
            for i in 0..plain.w[l][j].len() {
                let expected = -2.0 * eta * alpha * start_plain.w[l][j][i];
                let got = with_l2.w[l][j][i] - plain.w[l][j][i];
                assert!(
                    (got - expected).abs() < 1e-15,
                    "w[{l}][{j}][{i}]: {got} vs {expected}"
                );
            }
            let expected = -2.0 * eta * alpha * start_plain.b[l][j];
            let got = with_l2.b[l][j] - plain.b[l][j];
            assert!(
                (got - expected).abs() < 1e-15,
                "b[{l}][{j}]: {got} vs {expected}"
            );
        }
    }
}
