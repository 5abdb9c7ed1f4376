//! HTTP load on loopback against a real `essaim run` serving the 714
//! digital public goods: about 5 s of `wrk` on search and initiative pages
//! gets no error and no non-2xx answer, and the node's memory stays
//! bounded. No timing assertion: the figures are `bench-load`'s.

use std::time::Duration;

use essaim_tests::load::{
    LoadNode, RssSampler, essaim_binary, rss_kib, shared_data, wrk, wrk_available,
};

/// The memory bound: peak RSS under load below twice the RSS after a
/// warm-up, plus 100 MiB. After the warm-up the index readers, the page
/// caches and the allocator's arenas have their working size; serving more
/// requests at the same concurrency must not grow them (a per-request leak
/// or an unbounded cache would). Twice plus 100 MiB leaves room for
/// allocator fragmentation and per-connection buffers on a machine shared
/// with other tests, so that the test fails only on real growth.
const fn bound_kib(after_warmup: u64) -> u64 {
    2 * after_warmup + 100 * 1024
}

#[test]
fn search_and_initiative_pages_under_load_answer_without_errors_in_bounded_memory() {
    let dpg = shared_data().join("dpg/records.json");
    if !dpg.exists() {
        eprintln!("skipping: {} is missing", dpg.display());
        return;
    }
    assert!(
        wrk_available(),
        "wrk is not installed: apt-get install wrk (.ci/run installs it)"
    );
    let binary = essaim_binary()
        .expect("the essaim binary in the target directory: cargo build -p essaim (cargo test --workspace builds it)");
    let node = LoadNode::start(&binary, &dpg, Duration::from_secs(180)).expect("the node serves");
    assert!(
        node.imported >= 700,
        "only {} records imported",
        node.imported
    );
    let (mut paths, pages) = node.paths(100);
    assert!(!pages.is_empty(), "no initiative page found by search");
    paths.extend(pages);

    wrk(&node.base, &paths, Duration::from_secs(2), 8, 2).expect("the warm-up runs");
    let warm = rss_kib(node.pid).expect("the node's RSS");
    let sampler = RssSampler::start(node.pid);
    let run = wrk(&node.base, &paths, Duration::from_secs(5), 8, 2).expect("wrk runs");
    let peak = sampler.peak();
    drop(sampler);
    eprintln!(
        "{}; RSS after warm-up {warm} KiB, peak {peak} KiB",
        run.to_json()
    );
    assert!(run.requests > 0, "no request completed");
    assert_eq!(run.non_2xx, 0, "non-2xx answers: {}", run.to_json());
    assert_eq!(run.errors(), 0, "socket errors: {}", run.to_json());
    assert!(
        peak < bound_kib(warm),
        "peak RSS {peak} KiB over the bound {} KiB (after warm-up: {warm} KiB)",
        bound_kib(warm)
    );
}
