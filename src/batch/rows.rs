//! A row of `L` lanes (one value per association of a block) in a buffer of rows: row `r` is
//! `buf[r * L..(r + 1) * L]`, read and written as a fixed-width array, the shape the kernels'
//! loops vectorise.

#[inline(always)]
pub(super) fn row<const L: usize>(buf: &[f64], r: u32) -> &[f64; L] {
    let start = r as usize * L;
    buf[start..start + L]
        .try_into()
        .expect("internal error: a row has L lanes")
}

#[inline(always)]
pub(super) fn row_mut<const L: usize>(buf: &mut [f64], r: u32) -> &mut [f64; L] {
    let start = r as usize * L;
    (&mut buf[start..start + L])
        .try_into()
        .expect("internal error: a row has L lanes")
}

/// Row `r` to read and row `w` to write (`r != w`), without copying either.
#[inline(always)]
pub(super) fn row_and_row_mut<const L: usize>(
    buf: &mut [f64],
    r: u32,
    w: u32,
) -> (&[f64; L], &mut [f64; L]) {
    let (r, w) = (r as usize * L, w as usize * L);
    let (read, write) = if r < w {
        let (low, high) = buf.split_at_mut(w);
        (&low[r..r + L], &mut high[..L])
    } else {
        let (low, high) = buf.split_at_mut(r);
        (&high[..L], &mut low[w..w + L])
    };
    (
        read.try_into().expect("internal error: a row has L lanes"),
        write.try_into().expect("internal error: a row has L lanes"),
    )
}
