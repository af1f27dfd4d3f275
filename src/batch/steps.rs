//! What a [`super::plan::Plan`] is made of: its steps (one per varying op) and the products of
//! its `dot` steps, each classified once by how it reads its two factors.
//!
//! Rows and uniforms are numbers here (`u32`): a row holds one value per lane of a block, a
//! uniform one value for every lane. The plan gives them their numbers; the drivers read them.

/// How a product of a `dot` node reads its operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Pair {
    /// Row `a` times uniform `b`; the row's adjoint is needed.
    RowWeight,
    /// Row `a` times uniform `b`; only the uniform's adjoint is needed.
    Weight,
    /// Row `a` times row `b`.
    Rows,
    /// Uniform `a` times uniform `b`: the same product in every lane.
    Uniforms,
}

/// One varying op; operands are rows (uniform operands were given shadow rows).
#[derive(Clone, Copy, Debug)]
pub(super) enum Step {
    /// A unary op of row `a` into row `out`.
    Unary {
        op: crate::op::Unary,
        out: u32,
        a: u32,
    },
    /// A binary op of rows `a` and `b` into row `out`.
    Binary {
        op: crate::op::Binary,
        out: u32,
        a: u32,
        b: u32,
    },
    /// `sum` or `max` of the rows `args[start..start + len]` of the plan.
    Nary {
        op: crate::op::Op,
        out: u32,
        start: u32,
        len: u32,
    },
    /// A `dot` of the products `start..start + len` ([`Products`]).
    Dot { out: u32, start: u32, len: u32 },
    /// `groups[index]` of the plan: several `dot` steps evaluated together.
    Group { index: u32 },
}

/// The products of every `dot` step, side by side: product `p` is `kind[p]`, its factors `a[p]`
/// (the row, for a row product) and `b[p]`.
#[derive(Clone, Debug, Default)]
pub(super) struct Products {
    a: Vec<u32>,
    b: Vec<u32>,
    kind: Vec<Pair>,
}

impl Products {
    /// How many products there are.
    pub(super) fn len(&self) -> usize {
        self.kind.len()
    }

    pub(super) fn push(&mut self, kind: Pair, a: u32, b: u32) {
        self.kind.push(kind);
        self.a.push(a);
        self.b.push(b);
    }

    /// Product `p`: how it reads its factors, and the two factors.
    #[inline(always)]
    pub(super) fn get(&self, p: usize) -> (Pair, u32, u32) {
        (self.kind[p], self.a[p], self.b[p])
    }

    /// The products `start..start + len`, in order.
    #[inline(always)]
    pub(super) fn range(
        &self,
        start: u32,
        len: u32,
    ) -> impl Iterator<Item = (Pair, u32, u32)> + '_ {
        let range = start as usize..(start + len) as usize;
        (self.kind[range.clone()].iter())
            .zip(&self.a[range.clone()])
            .zip(&self.b[range])
            .map(|((&kind, &a), &b)| (kind, a, b))
    }
}
