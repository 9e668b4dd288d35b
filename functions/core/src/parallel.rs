//! Jobs spread over a few threads: reading many shards at once (blocking I/O and decompression)
//! for counts that need every document.

use std::sync::atomic::{AtomicUsize, Ordering};

/// `f` over every job, on up to 8 threads (fewer on a smaller machine); each thread takes the
/// next job until none is left. Results come in no particular order.
pub fn map_on_threads<J: Sync, R: Send>(jobs: &[J], f: impl Fn(&J) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    while let Some(job) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                        done.push(f(job));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a job thread does not panic"))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_job_is_done_once() {
        let jobs: Vec<u32> = (0..1000).collect();
        let mut out = super::map_on_threads(&jobs, |j| j * 2);
        out.sort();
        assert_eq!(out, jobs.iter().map(|j| j * 2).collect::<Vec<_>>());
    }
}
