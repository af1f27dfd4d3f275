//! The block driver against oracles: the lone `dot` steps against the layer groups, a reused
//! workspace against a fresh one, the tape's sweep, and `op`'s rules (`Op::Dot.partials`) for
//! every kernel on every vector width this machine has (each chosen in turn, so that the
//! AVX2 path runs on an AVX-512 machine too).

use proptest::prelude::*;

use super::block::{Inputs, run, runs_groups};
use super::partials::{PARTIALS, reduce};
use super::plan::Plan;
use super::workspace::PlanWorkspace;
use crate::op::{Binary, Op};
use crate::tape::Tape;
use crate::{Expr, Graph};

/// Every instruction set of `pulp` this machine has: the scalar level, AVX2 (4 lanes),
/// AVX-512 (8 lanes).
fn levels() -> Vec<pulp::Arch> {
    #[allow(unused_mut)]
    let mut levels = vec![pulp::Arch::Scalar];
    #[cfg(target_arch = "x86_64")]
    {
        if let Some(v3) = pulp::x86::V3::try_new() {
            levels.push(pulp::Arch::V3(v3));
        }
        if let Some(v4) = pulp::x86::V4::try_new() {
            levels.push(pulp::Arch::V4(v4));
        }
    }
    levels
}

/// A workspace for `plan` whose blocks run on `arch`.
fn workspace_on(plan: &Plan, lanes: usize, arch: pulp::Arch) -> PlanWorkspace {
    let mut ws = plan.workspace(lanes);
    ws.arch = arch;
    ws
}

/// A 6-5-3 tanh net with a bias node, half squared error against inputs 6..9; with
/// `shared`, the first two neurons of each layer share a weight (which must stop grouping).
fn net(shared: bool) -> (Tape, u32) {
    let g = Graph::new();
    let x: Vec<_> = (0..9).map(|i| g.input(&format!("x{i}"))).collect();
    let bias = g.constant(1.0);
    let mut value = 0.3;
    let mut weight = || {
        value = (value * 7.3f64).sin();
        g.param("w", value)
    };
    let mut layer = |inputs: &[Expr<'_>], width: usize| -> Vec<_> {
        let first = weight();
        (0..width)
            .map(|j| {
                let mut pairs: Vec<_> = inputs.iter().map(|&i| (i, weight())).collect();
                if shared && j < 2 {
                    pairs[0].1 = first;
                }
                pairs.push((bias, weight()));
                g.dot(&pairs).tanh()
            })
            .collect()
    };
    let hidden = layer(&x[..6], 5);
    let out = layer(&hidden, 3);
    let errors: Vec<_> = out
        .iter()
        .zip(&x[6..])
        .map(|(&y, &t)| (y - t).powf(2.0) * 0.5)
        .collect();
    let loss = g.sum(&errors);
    (g.compile_unfused().unwrap(), loss.id().index() as u32)
}

/// The bits of the loss and of the parameters' gradients over 77 associations in blocks of up
/// to `lanes`, on `arch`.
fn run_bits(plan: &Plan, tape: &Tape, lanes: usize, arch: pulp::Arch) -> (u64, Vec<u64>) {
    let data: Vec<f64> = (0..77 * 9).map(|k| (k as f64 * 0.61).cos()).collect();
    let mut ws = workspace_on(plan, lanes, arch);
    plan.set_params(&mut ws, tape.param_values());
    let loss = run(
        plan,
        &mut ws,
        Inputs::Rows(&[(&data, 9)]),
        0,
        77,
        lanes,
        1.0,
    );
    let mut grad = vec![0.0; tape.param_count()];
    plan.take_gradients(&mut ws, &mut grad);
    (loss.to_bits(), grad.iter().map(|g| g.to_bits()).collect())
}

/// The layer groups give the bits of the lone `dot` steps on every vector width: AVX-512's
/// 8 lanes (blocks of 8 or more), AVX2's 4 (a block of 4; and, chosen as the level, lone steps
/// for wider blocks), and the scalar level (lone steps throughout). 77 = 64 + 8 + 4 + 1.
#[test]
fn groups_give_the_bits_of_lone_dot_steps() {
    let (tape, loss) = net(false);
    let plan = Plan::new(&tape, loss);
    assert_eq!(plan.groups().len(), 2, "one group per layer");
    assert_eq!(plan.groups()[0].members(), 5);
    let plain = plan.without_groups();
    for arch in levels() {
        for lanes in [64, 16, 8, 5, 4] {
            let grouped = run_bits(&plan, &tape, lanes, arch);
            assert_eq!(
                grouped,
                run_bits(&plain, &tape, lanes, arch),
                "{arch:?}, {lanes}"
            );
        }
    }
}

/// Which blocks run the groups, by vector width: the rule of `runs_groups` as a table.
#[test]
fn groups_run_on_eight_lanes_from_blocks_of_eight_and_on_four_in_a_block_of_four() {
    for (vector, lanes, runs) in [
        (8, 64, true),
        (8, 8, true),
        (8, 4, false),
        (8, 1, false),
        (4, 4, true),
        (4, 8, false),
        (4, 64, false),
        (4, 2, false),
        (1, 4, false),
        (1, 64, false),
        (2, 2, false),
    ] {
        assert_eq!(
            runs_groups(vector, lanes),
            runs,
            "{vector}-lane vectors, {lanes} lanes"
        );
    }
}

/// A pass clears only the adjoints it writes: a workspace reused over passes whose blocks
/// change width (77 = 64 + 8 + 4 + 1, then 5 = 4 + 1, then 77 again), so that rows hold
/// values left by another layout, gives the bits of a fresh one each time.
#[test]
fn a_reused_workspace_gives_the_bits_of_a_fresh_one() {
    let (tape, loss) = net(false);
    let plan = Plan::new(&tape, loss);
    assert!(
        plan.written().iter().map(|(s, e)| e - s).sum::<u32>() < plan.rows() as u32,
        "the inputs' adjoints are never written"
    );
    let data: Vec<f64> = (0..77 * 9).map(|k| (k as f64 * 0.37).sin()).collect();
    let pass = |ws: &mut PlanWorkspace, count: usize| {
        plan.set_params(ws, tape.param_values());
        let loss = run(&plan, ws, Inputs::Rows(&[(&data, 9)]), 0, count, 64, 1.0);
        let mut grad = vec![0.0; tape.param_count()];
        plan.take_gradients(ws, &mut grad);
        (
            loss.to_bits(),
            grad.iter().map(|g| g.to_bits()).collect::<Vec<_>>(),
        )
    };
    let mut reused = plan.workspace(64);
    for count in [77, 5, 77, 64, 77] {
        let fresh = pass(&mut plan.workspace(64), count);
        assert_eq!(pass(&mut reused, count), fresh, "{count} associations");
    }
}

#[test]
fn a_weight_shared_between_neurons_is_not_grouped() {
    let (tape, loss) = net(true);
    let plan = Plan::new(&tape, loss);
    assert!(plan.groups().is_empty(), "no layer is grouped");
    // the tape's gradient, summed over the associations one at a time
    let data: Vec<f64> = (0..77 * 9).map(|k| (k as f64 * 0.61).cos()).collect();
    let node = crate::NodeId::new(tape.param_node(0).graph_id(), loss);
    let mut want = vec![0.0; tape.param_count()];
    let mut ws = tape.workspace();
    for t in 0..77 {
        tape.forward(&mut ws, &data[t * 9..(t + 1) * 9]).unwrap();
        tape.backward(&mut ws, node).unwrap();
        for (k, w) in want.iter_mut().enumerate() {
            *w += tape.gradient(&ws, tape.param_node(k)).unwrap();
        }
    }
    let mut ws = plan.workspace(64);
    plan.set_params(&mut ws, tape.param_values());
    run(&plan, &mut ws, Inputs::Rows(&[(&data, 9)]), 0, 77, 64, 1.0);
    let mut got = vec![0.0; tape.param_count()];
    plan.take_gradients(&mut ws, &mut got);
    for (g, w) in got.iter().zip(&want) {
        // sums of 77 terms of size ~1 in two orders: a few ulps of the sum
        assert!((g - w).abs() <= 1e-12 * w.abs().max(1.0), "{g} vs {w}");
    }
}

/// The neurons of [`dot_net`]: five of a layer (a group) and one lone `dot`.
const MEMBERS: usize = 5;

/// Three rows `h_i = x_i * v_i`, a layer of [`MEMBERS`] neurons
/// `y_m = dot(h_0 w_m0, h_1 w_m1, h_2 w_m2, 1 b_m)` (rows that need their adjoint times
/// weights, and the bias node times a weight: one group), a lone `z = dot(h_0 h_1, x_2 u,
/// 1 c)` (row x row, a row that needs none x weight, the bias node x weight), and their sum.
/// The parameters in slot order: `v` (3), then per neuron its weights and bias, then `u`, `c`.
fn dot_net(params: &[f64]) -> (Tape, u32) {
    let g = Graph::new();
    let x: Vec<_> = (0..3).map(|i| g.input(&format!("x{i}"))).collect();
    let mut next = params.iter();
    let mut param = || g.param("p", *next.next().unwrap());
    let h: Vec<_> = x.iter().map(|&x| x * param()).collect();
    let one = g.constant(1.0);
    let mut outputs: Vec<_> = (0..MEMBERS)
        .map(|_| {
            let mut pairs: Vec<_> = h.iter().map(|&h| (h, param())).collect();
            pairs.push((one, param()));
            g.dot(&pairs)
        })
        .collect();
    let (u, c) = (param(), param());
    outputs.push(g.dot(&[(h[0], h[1]), (x[2], u), (one, c)]));
    let sum = g.sum(&outputs);
    (g.compile_unfused().unwrap(), sum.id().index() as u32)
}

/// [`dot_net`]'s parameter count.
const DOT_NET_PARAMS: usize = 3 + MEMBERS * 4 + 2;

/// What the block driver must give for [`dot_net`] over one block of `inputs.len()` lanes,
/// from `op`'s rules alone: each `dot`'s partials from [`Op::partials`], `mul`'s from
/// [`Binary::partials`], each adjoint formed as the reverse sweep forms it (`0 + 1 * d` for a
/// `dot` of the sum; a row's contributions from the last consumer made to the first), and a
/// parameter's partial sums as the lanes of a block add into them (lane `l` into sum `l % 8`,
/// in lane order). Returns the output's sum over the lanes and each parameter's gradient.
fn dot_net_by_op_rules(params: &[f64], inputs: &[[f64; 3]]) -> (f64, Vec<f64>) {
    let mut partials = vec![[0.0; PARTIALS]; DOT_NET_PARAMS];
    let mut sum = 0.0;
    for (l, x) in inputs.iter().enumerate() {
        let h: Vec<f64> = (0..3).map(|i| Binary::Mul.value(x[i], params[i])).collect();
        // operands of each dot in order: (node's parameter slot, if any; value)
        let mut dots: Vec<Vec<(Option<usize>, f64)>> = (0..MEMBERS)
            .map(|m| {
                let first = 3 + m * 4;
                let mut ops = Vec::new();
                for i in 0..3 {
                    ops.extend([(None, h[i]), (Some(first + i), params[first + i])]);
                }
                ops.extend([(None, 1.0), (Some(first + 3), params[first + 3])]);
                ops
            })
            .collect();
        let (u, c) = (DOT_NET_PARAMS - 2, DOT_NET_PARAMS - 1);
        dots.push(vec![
            (None, h[0]),
            (None, h[1]),
            (None, x[2]),
            (Some(u), params[u]),
            (None, 1.0),
            (Some(c), params[c]),
        ]);
        let values: Vec<f64> = dots
            .iter()
            .map(|ops| {
                Op::Dot
                    .value(&ops.iter().map(|o| o.1).collect::<Vec<_>>())
                    .unwrap()
            })
            .collect();
        sum += Op::Sum.value(&values).unwrap();
        // the rows' adjoints, from the lone dot (made last) back to the first neuron
        let mut h_adjoint = [0.0; 3];
        for (k, ops) in dots.iter().enumerate().rev() {
            let g = 0.0 + 1.0 * 1.0; // the sum's partial, onto a cleared adjoint
            Op::Dot.partials(
                ops.len(),
                |j| ops[j].1,
                values[k],
                |j, d| {
                    match ops[j].0 {
                        Some(slot) => partials[slot][l % PARTIALS] += g * d,
                        None if k < MEMBERS && j % 2 == 0 && j < 6 => h_adjoint[j / 2] += g * d,
                        None if k == MEMBERS && j < 2 => h_adjoint[j] += g * d,
                        None => {} // the bias node, x_2: no parameter behind them
                    }
                },
            );
        }
        for i in 0..3 {
            let [_, dv] = Binary::Mul.partials(x[i], params[i], h[i]);
            // into the shadow row of v_i, then into its partial sums times 1
            partials[i][l % PARTIALS] += (0.0 + h_adjoint[i] * dv) * 1.0;
        }
    }
    (0.0 + sum, partials.iter().map(reduce).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The block driver's `dot` (the lone steps, the layer groups' kernels on every vector
    /// width this machine has) gives the bits of `op`'s rules: `Op::Dot.partials` for every
    /// product kind (row x weight, row x row, a row that needs no adjoint x weight, uniform x
    /// uniform), for the rows' adjoints and the weights' gradients. One block of each width.
    #[test]
    fn the_block_driver_dot_gives_the_bits_of_op_dot_partials(
        params in proptest::collection::vec(-2.0f64..2.0, DOT_NET_PARAMS),
        inputs in proptest::collection::vec(proptest::array::uniform3(-2.0f64..2.0), 64),
    ) {
        let (tape, output) = dot_net(&params);
        let plan = Plan::new(&tape, output);
        prop_assert_eq!(plan.groups().len(), 1);
        prop_assert_eq!(plan.groups()[0].members(), MEMBERS);
        for arch in levels() {
            for lanes in [64, 16, 8, 4, 2, 1] {
                let block = &inputs[..lanes];
                let data: Vec<f64> = block.iter().flatten().copied().collect();
                let mut ws = workspace_on(&plan, lanes, arch);
                plan.set_params(&mut ws, &params);
                let sum = run(&plan, &mut ws, Inputs::Rows(&[(&data, 3)]), 0, lanes, lanes, 1.0);
                let mut grad = vec![0.0; DOT_NET_PARAMS];
                plan.take_gradients(&mut ws, &mut grad);
                let (want_sum, want) = dot_net_by_op_rules(&params, block);
                prop_assert_eq!(sum.to_bits(), want_sum.to_bits(), "{:?}, {} lanes: sum", arch, lanes);
                for (k, (g, w)) in grad.iter().zip(&want).enumerate() {
                    prop_assert_eq!(g.to_bits(), w.to_bits(), "{:?}, {} lanes: parameter {}: {} vs {}", arch, lanes, k, g, w);
                }
            }
        }
    }
}

/// `max` reads its operands' rows lane by lane: `E = max(x_0 w_0, x_1 w_1, x_2 w_2) * w_3`
/// over 77 associations whose largest operand changes from one association to the next (so
/// that a row read at another lane, or another row, picks another operand). The gradient is
/// the tape's, summed one association at a time (`d max / d a_k` is 1 for the largest operand,
/// 0 for the others: `Op::partials`), to a few ulps of the sum, the order of the sums aside.
#[test]
fn max_reads_each_lane_of_its_operands_rows() {
    let g = Graph::new();
    let x: Vec<_> = (0..3).map(|i| g.input(&format!("x{i}"))).collect();
    let w: Vec<_> = (0..4)
        .map(|k| g.param("w", 0.5 + 0.25 * k as f64))
        .collect();
    let products: Vec<_> = (0..3).map(|i| (x[i] * w[i]).id()).collect();
    let max = g.try_op(Op::Max, &products).unwrap();
    let output = g
        .try_op(Op::Binary(Binary::Mul), &[max, w[3].id()])
        .unwrap();
    let tape = g.compile_unfused().unwrap();
    let data: Vec<f64> = (0..77 * 3).map(|k| (k as f64 * 1.91).sin()).collect();
    let mut want = vec![0.0; tape.param_count()];
    let mut ws = tape.workspace();
    let mut argmax = std::collections::BTreeSet::new();
    for t in 0..77 {
        let association = &data[t * 3..(t + 1) * 3];
        tape.forward(&mut ws, association).unwrap();
        tape.backward(&mut ws, output).unwrap();
        for (k, w) in want.iter_mut().enumerate() {
            *w += tape.gradient(&ws, tape.param_node(k)).unwrap();
        }
        let operand = |i: usize| association[i] * tape.param_values()[i];
        argmax.insert((0..3).max_by(|&i, &j| operand(i).total_cmp(&operand(j))));
    }
    assert_eq!(argmax.len(), 3, "each operand is the largest somewhere");
    let plan = Plan::new(&tape, output.index() as u32);
    for arch in levels() {
        for lanes in [64, 8, 4, 1] {
            let mut ws = workspace_on(&plan, lanes, arch);
            plan.set_params(&mut ws, tape.param_values());
            run(
                &plan,
                &mut ws,
                Inputs::Rows(&[(&data, 3)]),
                0,
                77,
                lanes,
                1.0,
            );
            let mut got = vec![0.0; tape.param_count()];
            plan.take_gradients(&mut ws, &mut got);
            for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                // sums of 77 terms of size ~1 in two orders: a few ulps of the sum
                assert!(
                    (g - w).abs() <= 1e-12 * w.abs().max(1.0),
                    "{arch:?}, {lanes}: {k}: {g} vs {w}"
                );
            }
        }
    }
}
