//! Pictures: DOT and SVG of graphs, the worked example's walkthrough, loss curves.

use backprop::nn::{Activation, Bias, Init, Mlp, MlpSpec};
use backprop::render::{
    GRAPH_SVG_MAX_BOXES, graph_dot, graph_svg, loss_curve_svg, walkthrough_svgs,
};
use backprop::tutorial::{WORKED_INPUT, WORKED_LEARNING_RATE, WORKED_TARGET, worked_example};
use backprop::{Error, Graph};
#[cfg(feature = "strategies")]
use proptest::prelude::*;

/// Checks that `svg` is well-formed XML as far as these pictures need: one root `svg` element,
/// every tag closed in order, attribute values quoted, no raw `<` or stray `&` in text.
fn assert_well_formed_svg(svg: &str) {
    let body = match svg.strip_prefix("<?xml") {
        Some(rest) => &rest[rest.find("?>").expect("unterminated XML declaration") + 2..],
        None => svg,
    };
    let mut open: Vec<String> = Vec::new();
    let mut roots = 0;
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        check_text(&rest[..start]);
        let end = rest[start..].find('>').expect("unterminated tag") + start;
        let tag = &rest[start + 1..end];
        assert_eq!(
            tag.matches('"').count() % 2,
            0,
            "unbalanced quotes in <{tag}>"
        );
        assert!(!tag.contains('<'), "'<' inside <{tag}>");
        if let Some(name) = tag.strip_prefix('/') {
            let name = name.trim();
            assert_eq!(open.pop().as_deref(), Some(name), "mismatched </{name}>");
        } else {
            let name: String = tag
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '/')
                .collect();
            assert!(!name.is_empty(), "tag without a name: <{tag}>");
            if open.is_empty() {
                roots += 1;
                assert_eq!(name, "svg", "the root element is not svg");
            }
            if !tag.ends_with('/') {
                open.push(name);
            }
        }
        rest = &rest[end + 1..];
    }
    check_text(rest);
    assert!(open.is_empty(), "unclosed elements: {open:?}");
    assert_eq!(roots, 1, "expected one root element");
}

/// Text between tags: `&` only as an entity.
fn check_text(text: &str) {
    for (k, _) in text.match_indices('&') {
        let entity = &text[k..];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                .iter()
                .any(|e| entity.starts_with(e)),
            "stray '&' in text: {text}"
        );
    }
}

/// `text` as it appears in SVG text.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The worked example's graph with every node's value and gradient after one forward and
/// backward pass on the tutorial's association.
fn worked_example_numbers(net: &Mlp) -> (Vec<f64>, Vec<f64>) {
    let tape = net.tape();
    let mut ws = tape.workspace();
    tape.set_params(&mut ws, net.params()).unwrap();
    let association: Vec<f64> = WORKED_INPUT.iter().chain(&WORKED_TARGET).copied().collect();
    tape.forward(&mut ws, &association).unwrap();
    tape.backward(&mut ws, net.loss_node()).unwrap();
    let values = net
        .graph()
        .nodes()
        .map(|n| tape.value(&ws, n).unwrap())
        .collect();
    let gradients = tape.gradients_of(&ws).unwrap().as_slice().to_vec();
    (values, gradients)
}

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!(name, text);
    });
}

/// The `points` of every `class="curve"` polyline.
fn curve_points(svg: &str) -> Vec<usize> {
    svg.lines()
        .filter(|line| line.starts_with("<polyline") && line.contains("class=\"curve\""))
        .map(|line| {
            let start = line.find("points=\"").unwrap() + "points=\"".len();
            let end = start + line[start..].find('"').unwrap();
            line[start..end].split(' ').count()
        })
        .collect()
}

#[test]
fn graph_dot_of_the_worked_example_with_values_and_gradients_matches_snapshot() {
    let net = worked_example().unwrap();
    let (values, gradients) = worked_example_numbers(&net);
    let dot = graph_dot(net.graph(), Some(&values), Some(&gradients));
    // y_j = sigmoid(1.0) = 0.7311 (the tutorial's 0.731); delta_j = dE/dx_j = 0.0227
    assert!(dot.contains("y1[0]\\nsigmoid\\nvalue = 0.7311"));
    assert!(dot.contains("x1[0]\\ndot\\nvalue = 1.0000\\ngrad = 0.0227"));
    snapshot("graph_dot_worked_example", &dot);
}

#[test]
fn graph_dot_is_the_same_text_every_time() {
    let net = worked_example().unwrap();
    let (values, gradients) = worked_example_numbers(&net);
    let first = graph_dot(net.graph(), Some(&values), Some(&gradients));
    for _ in 0..5 {
        assert_eq!(
            graph_dot(net.graph(), Some(&values), Some(&gradients)),
            first
        );
    }
}

#[test]
fn graph_dot_labels_operand_positions_only_where_order_matters() {
    let g = Graph::new();
    let (a, b) = (g.input("a"), g.input("b"));
    let _sub = a - b; // node 2
    let _mul = a * b; // node 3
    let _div = b / a; // node 4
    let dot = graph_dot(&g, None, None);
    assert!(dot.contains("0 -> 2 [ label = \"0\" ]"), "{dot}");
    assert!(dot.contains("1 -> 2 [ label = \"1\" ]"), "{dot}");
    assert!(dot.contains("0 -> 3 [ ]"), "{dot}");
    assert!(dot.contains("1 -> 3 [ ]"), "{dot}");
    // b / a: b is the numerator, operand 0
    assert!(dot.contains("1 -> 4 [ label = \"0\" ]"), "{dot}");
    assert!(dot.contains("0 -> 4 [ label = \"1\" ]"), "{dot}");
}

#[test]
fn graph_dot_shows_leaf_values_op_parameters_and_escapes_labels() {
    let g = Graph::new();
    let x = g.input("say \"hi\"\\now");
    let w = g.param("w", -0.25);
    let c = g.constant(1.5);
    let _ = (x * w + c).powf(2.0);
    let dot = graph_dot(&g, None, None);
    assert!(
        dot.contains("label = \"say \\\"hi\\\"\\\\now\\ninput\""),
        "{dot}"
    );
    assert!(dot.contains("w\\nparam = -0.2500"), "{dot}");
    assert!(dot.contains("#2\\nconst = 1.5000"), "{dot}");
    assert!(dot.contains("powf(2.0000)"), "{dot}");
}

#[test]
fn graph_dot_with_short_value_slices_shows_numbers_only_where_given() {
    let g = Graph::new();
    let x = g.input("x");
    let _ = x.sigmoid();
    let dot = graph_dot(&g, Some(&[0.0]), Some(&[]));
    assert!(dot.contains("x\\ninput\\nvalue = 0.0000\""), "{dot}");
    assert!(dot.contains("#1\\nsigmoid\""), "{dot}");
    assert!(!dot.contains("grad"));
}

#[test]
fn graph_svg_of_the_worked_example_is_well_formed_and_shows_every_label_and_value() {
    let net = worked_example().unwrap();
    let (values, gradients) = worked_example_numbers(&net);
    let svg = graph_svg(net.graph(), Some(&values), Some(&gradients));
    assert_well_formed_svg(&svg);
    let g = net.graph();
    for node in g.nodes() {
        let label = g
            .label(node)
            .unwrap()
            .unwrap_or_else(|| format!("#{}", node.index()));
        assert!(
            svg.contains(&format!(">{}<", xml(&label))),
            "no label {label}"
        );
        let value = format!("value = {:.4}", values[node.index()]);
        assert!(svg.contains(&value), "no {value} for {label}");
    }
    assert!(svg.contains("grad = 0.0227"));
    assert_eq!(svg, graph_svg(g, Some(&values), Some(&gradients)));
}

#[test]
fn graph_svg_escapes_markup_in_labels() {
    let g = Graph::new();
    let x = g.input("<x & y>");
    let _ = (x * x).labelled("a\u{7}b");
    let svg = graph_svg(&g, None, None);
    assert_well_formed_svg(&svg);
    assert!(svg.contains("&lt;x &amp; y&gt;"));
    assert!(svg.contains("a b"));
}

#[test]
fn graph_svg_of_an_empty_or_too_large_graph_is_a_valid_svg_saying_so() {
    let empty = graph_svg(&Graph::new(), None, None);
    assert_well_formed_svg(&empty);
    assert!(empty.contains("empty graph"));

    let single = Graph::new();
    let _ = single.constant(2.0);
    let one = graph_svg(&single, None, None);
    assert_well_formed_svg(&one);
    assert!(one.contains("const = 2.0000"));

    // one parameter shared by every op of a chain of 200: its edge into op k crosses k - 1
    // ranks, about 200^2 / 2 boxes in all
    let g = Graph::new();
    let w = g.param("w", 0.5);
    let mut x = g.input("x");
    for _ in 0..200 {
        x = g.dot(&[(x, w)]);
    }
    let large = graph_svg(&g, None, None);
    assert_well_formed_svg(&large);
    assert!(large.contains("graph of 202 nodes"), "{large}");
    assert!(large.contains(&format!("more than {GRAPH_SVG_MAX_BOXES}")));
    assert!(large.contains("Graphviz"));
}

#[test]
fn graph_svg_lays_out_a_network_too_large_for_crossing_minimisation() {
    // 16x8x4: about 600 boxes, over GRAPH_SVG_OPTIMISED_MAX_BOXES
    let net = MlpSpec::new(&[16, 8, 4], Activation::Sigmoid, Activation::Identity)
        .build()
        .unwrap();
    let g = net.graph();
    let started = std::time::Instant::now();
    let svg = graph_svg(g, None, None);
    // generous: about 30 ms here without crossing minimisation, seconds with it
    assert!(started.elapsed().as_secs() < 20);
    assert_well_formed_svg(&svg);
    for node in g.nodes() {
        if let Some(label) = g.label(node).unwrap() {
            assert!(
                svg.contains(&format!(">{}<", xml(&label))),
                "no label {label}"
            );
        }
    }
}

// Random DAGs come from `backprop::strategies` (feature `strategies`).
#[cfg(feature = "strategies")]
proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(
                "tests/proptest-regressions/render.txt",
            ),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn graph_svg_and_dot_draw_any_random_dag(spec in backprop::strategies::dag(2..=40, backprop::strategies::Kinks::Anywhere)) {
        let g = Graph::new();
        spec.build(&g).unwrap();
        let values: Vec<f64> = (0..g.len()).map(|k| k as f64 - 3.5).collect();
        let svg = graph_svg(&g, Some(&values), Some(&values));
        assert_well_formed_svg(&svg);
        let dot = graph_dot(&g, Some(&values), None);
        prop_assert_eq!(dot.matches(" -> ").count(), g.edge_count());
    }
}

#[test]
fn walkthrough_of_the_worked_example_shows_the_tutorials_figures() {
    let net = worked_example().unwrap();
    let pictures =
        walkthrough_svgs(&net, &WORKED_INPUT, &WORKED_TARGET, WORKED_LEARNING_RATE).unwrap();
    let stems: Vec<&str> = pictures.iter().map(|(stem, _)| stem.as_str()).collect();
    assert_eq!(stems, ["1-forward", "2-backward", "3-update"]);
    let (forward, backward, update) = (&pictures[0].1, &pictures[1].1, &pictures[2].1);
    for (_, svg) in &pictures {
        assert_well_formed_svg(svg);
    }
    // The tutorial: x_j = 1.0, y_j = sigmoid(1) = 0.731, y_k = 0.731, y' = 0.5.
    assert_eq!(forward.matches("x = 1.000000").count(), 2);
    assert_eq!(forward.matches("y = 0.731059").count(), 3);
    assert!(forward.contains("x = 0.731059"));
    assert!(forward.contains("y' = 0.500000"));
    assert_eq!(forward.matches(">0.500000<").count(), 6); // every weight is 0.5
    // delta_k = 0.231, delta_j = 0.0227 (twice), dE/dw_ij = 0.0227 * 1.0 (four weights),
    // dE/dw_jk = delta_k y_j = 0.168917 exactly (the tutorial's 0.168861 is 0.231 x 0.731)
    assert!(backward.contains("delta = 0.231059"));
    assert_eq!(backward.matches("delta = 0.022714").count(), 2);
    assert_eq!(backward.matches(">0.022714<").count(), 4);
    assert_eq!(backward.matches(">0.168917<").count(), 2);
    // w_ij = 0.5 - 0.01 * 0.0227 = 0.499773; w_jk = 0.498311; the output goes 0.731 -> 0.7285
    assert_eq!(update.matches(">0.499773<").count(), 4);
    assert_eq!(update.matches(">0.498311<").count(), 2);
    assert!(update.contains("y = 0.728"));
    assert!(update.contains("was 0.731059"));
}

#[test]
fn walkthrough_of_the_worked_example_matches_snapshots() {
    let net = worked_example().unwrap();
    let pictures =
        walkthrough_svgs(&net, &WORKED_INPUT, &WORKED_TARGET, WORKED_LEARNING_RATE).unwrap();
    for (stem, svg) in &pictures {
        snapshot(&format!("walkthrough_worked_example_{stem}"), svg);
    }
}

#[test]
fn walkthrough_draws_the_bias_node_and_any_depth() {
    let net = MlpSpec::new(&[3, 4, 2, 2], Activation::Tanh, Activation::Sigmoid)
        .with_bias(Bias::Node(-1.0))
        .with_init(Init::Constant(-0.3))
        .build()
        .unwrap();
    let pictures = walkthrough_svgs(&net, &[1.0, 0.0, -1.0], &[0.0, 1.0], 0.1).unwrap();
    assert_eq!(pictures.len(), 3);
    for (_, svg) in &pictures {
        assert_well_formed_svg(svg);
        // one bias square per layer that feeds another: three
        assert_eq!(svg.matches(">bias<").count(), 3);
        assert!(svg.contains(">-1<"));
        assert!(svg.contains("l3[1]"));
        assert!(svg.contains("hidden 2 (tanh)"));
    }
    // bias weight lines are dashed: 4 + 2 + 2 of them
    assert_eq!(pictures[0].1.matches("stroke-dasharray").count(), 8);
    // negative weights are red
    assert!(pictures[0].1.contains(">-0.300000<"));
    assert!(pictures[0].1.contains("#dc2626"));
}

#[test]
fn walkthrough_reports_an_input_of_the_wrong_width() {
    let net = worked_example().unwrap();
    let error = walkthrough_svgs(&net, &[1.0], &WORKED_TARGET, 0.01).unwrap_err();
    assert!(matches!(error, Error::Shape { .. }), "{error}");
}

#[test]
fn walkthrough_of_a_wide_layer_leaves_weight_numbers_out() {
    let net = MlpSpec::new(&[9, 8, 1], Activation::Sigmoid, Activation::Identity)
        .build()
        .unwrap();
    let pictures = walkthrough_svgs(&net, &[0.5; 9], &[1.0], 0.1).unwrap();
    for (_, svg) in &pictures {
        assert_well_formed_svg(svg);
        assert!(svg.contains("by colour and width only"));
    }
}

#[test]
fn loss_curve_of_no_errors_is_a_valid_svg_saying_no_data() {
    let svg = loss_curve_svg(&[], "XOR");
    assert_well_formed_svg(&svg);
    assert!(svg.contains(">no data<"));
    assert!(curve_points(&svg).is_empty());
}

#[test]
fn loss_curve_has_one_point_per_epoch() {
    let errors: Vec<f64> = (0..37).map(|e| 0.5 / (1.0 + e as f64)).collect();
    let svg = loss_curve_svg(&errors, "training");
    assert_well_formed_svg(&svg);
    assert_eq!(curve_points(&svg), [37]);
    assert!(svg.contains(">epoch<"));
    // 0.5 / 37 is within two decades of 0.5: linear axis from 0 with ticks 0.0 .. 0.5
    assert!(svg.contains(">error<"));
    assert!(svg.contains(">0.0<") && svg.contains(">0.5<"));
    assert_eq!(curve_points(&loss_curve_svg(&[0.25], "one")), [1]);
}

#[test]
fn loss_curve_uses_a_log_axis_when_errors_span_more_than_two_decades() {
    let errors = [1.0, 0.3, 0.05, 0.004, 0.0007];
    let svg = loss_curve_svg(&errors, "decay");
    assert_well_formed_svg(&svg);
    assert!(svg.contains("error (log scale)"));
    // decades from 1e-4 (below 0.0007) to 1e0
    for tick in ["1e-4", "1e-3", "1e-2", "1e-1", "1e0"] {
        assert!(svg.contains(&format!(">{tick}<")), "no tick {tick}");
    }
    assert_eq!(curve_points(&svg), [5]);
}

#[test]
fn loss_curve_guards_zeros_and_non_finite_errors() {
    let errors = [1.0, 0.01, f64::NAN, 0.001, 0.0, f64::INFINITY, 0.0];
    let svg = loss_curve_svg(&errors, "guarded");
    assert_well_formed_svg(&svg);
    assert!(!svg.contains("NaN") && !svg.contains("inf"));
    assert!(svg.contains("error (log scale)"));
    assert!(svg.contains("2 non-finite errors not drawn"));
    assert!(svg.contains("errors of 0 drawn on the bottom axis"));
    // the line breaks at each non-finite error
    assert_eq!(curve_points(&svg), [2, 2, 1]);
    let nothing = loss_curve_svg(&[f64::NAN], "nan");
    assert_well_formed_svg(&nothing);
    assert!(nothing.contains("no finite data"));
}

#[test]
fn loss_curve_of_constant_or_negative_errors_has_a_linear_axis() {
    for errors in [
        vec![0.0, 0.0],
        vec![2.0; 3],
        vec![-1.0, 5.0, 1e-9],
        vec![f64::MAX, -f64::MAX],
    ] {
        let svg = loss_curve_svg(&errors, "flat");
        assert_well_formed_svg(&svg);
        assert!(!svg.contains("log scale"));
        assert_eq!(curve_points(&svg), [errors.len()]);
        assert!(!svg.contains("NaN"));
    }
}

#[test]
fn loss_curve_title_is_escaped() {
    let svg = loss_curve_svg(&[1.0, 0.5], "loss <E> & \"friends\"");
    assert_well_formed_svg(&svg);
    assert!(svg.contains("loss &lt;E&gt; &amp; &quot;friends&quot;"));
}

/// The same graph gives the same SVG bytes every time: 20 random DAGs, each drawn twice from
/// two graphs built alike (two sets of hash maps: `layout-rs` listed its font classes in a
/// `HashMap`'s order, which differs between two maps as between two runs).
#[cfg(feature = "strategies")]
#[test]
fn graph_svg_gives_the_same_bytes_every_time() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = backprop::strategies::dag(2..=40, backprop::strategies::Kinks::Anywhere);
    for case in 0..20 {
        let spec = strategy.new_tree(&mut runner).unwrap().current();
        let draw = || {
            let g = Graph::new();
            spec.build(&g).unwrap();
            let values: Vec<f64> = (0..g.len()).map(|k| k as f64 * 0.25 - 1.0).collect();
            graph_svg(&g, Some(&values), None)
        };
        let (first, second) = (draw(), draw());
        assert!(first == second, "case {case}: two drawings differ");
    }
}
