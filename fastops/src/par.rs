//! Parallel loops on candle's own worker threads (`candle_core::utils::barrier_pool`): the
//! threads that run candle's kernels between ours, already awake. A second pool (rayon's)
//! would put more threads than cores on a small machine, each waiting for the other to yield.

use std::mem::MaybeUninit;
use std::ops::Range;

/// A raw pointer that may cross threads; each task writes only its own part of the buffer.
#[derive(Clone, Copy)]
pub(crate) struct SyncPtr<T>(*mut T);
// SAFETY: the loops that share a SyncPtr give each task a disjoint part of the buffer, which
// outlives the loop; no two tasks touch the same element.
unsafe impl<T> Send for SyncPtr<T> {}
// SAFETY: as for Send.
unsafe impl<T> Sync for SyncPtr<T> {}

impl<T> SyncPtr<T> {
    pub(crate) fn new(p: *mut T) -> Self {
        SyncPtr(p)
    }
    /// The pointer `i` elements on.
    ///
    /// # Safety
    /// As `pointer::add`.
    pub(crate) unsafe fn at(&self, i: usize) -> *mut T {
        unsafe { self.0.add(i) }
    }
}

/// The number of candle's worker threads (with the calling thread), computed once: candle's
/// own `get_num_threads` reads the CPU mask and `/proc/cpuinfo` at every call.
pub(crate) fn threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| candle_core::utils::get_num_threads().max(1))
}

/// Runs `f` on ranges that cover `0..n` once, across the pool.
pub(crate) fn for_ranges(n: usize, f: impl Fn(Range<usize>) + Sync) {
    candle_core::utils::barrier_pool().execute_chunked(n, f)
}

/// `f(first element, chunk)` on consecutive chunks of `size` elements of `out` (the last may be
/// shorter), in parallel.
pub(crate) fn chunks_mut<T: Send>(out: &mut [T], size: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    if size == 0 || out.is_empty() {
        return;
    }
    let (len, p) = (out.len(), SyncPtr::new(out.as_mut_ptr()));
    for_ranges(len.div_ceil(size), |r| {
        for i in r {
            let start = i * size;
            // Safety: chunk i is `start..start + size` clipped to the buffer, written by this
            // task alone.
            let chunk = unsafe { std::slice::from_raw_parts_mut(p.at(start), size.min(len - start)) };
            f(start, chunk)
        }
    })
}

/// `len` floats not yet written, for a kernel that writes every one of them before
/// [`assume_init`] (no zeroing first).
pub(crate) fn uninit(len: usize) -> Vec<MaybeUninit<f32>> {
    let mut v = Vec::with_capacity(len);
    // Safety: a MaybeUninit needs no initialisation.
    unsafe { v.set_len(len) };
    v
}

/// The floats of [`uninit`], once written.
///
/// # Safety
/// Every element of `v` must have been written.
pub(crate) unsafe fn assume_init(v: Vec<MaybeUninit<f32>>) -> Vec<f32> {
    let mut v = std::mem::ManuallyDrop::new(v);
    // Safety: every element is written (the caller's contract), and MaybeUninit<f32> has f32's
    // layout.
    unsafe { Vec::from_raw_parts(v.as_mut_ptr().cast::<f32>(), v.len(), v.capacity()) }
}

/// A vector of `len` floats made in parallel by `f(first element, chunk)` on consecutive
/// chunks of `size` elements (the last may be shorter), with no zeroing first: `f` must write
/// every element of its chunk.
pub(crate) fn make_chunks(len: usize, size: usize, f: impl Fn(usize, &mut [MaybeUninit<f32>]) + Sync) -> Vec<f32> {
    let mut v = uninit(len);
    chunks_mut(&mut v, size, f);
    // Safety: `f` wrote every element (its contract).
    unsafe { assume_init(v) }
}

/// `f(row index, row)` on every row of `n` elements of `out`, in parallel.
pub(crate) fn rows_mut(out: &mut [f32], n: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    chunks_mut(out, n, |start, row| f(start / n, row))
}

/// `[f(0), …, f(count − 1)]`, computed in parallel, in order.
pub(crate) fn map_indexed<T: Send>(count: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let mut out: Vec<Option<T>> = (0..count).map(|_| None).collect();
    let p = SyncPtr::new(out.as_mut_ptr());
    for_ranges(count, |r| {
        for i in r {
            // Safety: slot i is written by this task alone, and `out` outlives the loop.
            unsafe { *p.at(i) = Some(f(i)) }
        }
    });
    out.into_iter().map(|v| v.expect("every index ran")).collect()
}
