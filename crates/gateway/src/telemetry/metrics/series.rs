//! The series handles each telemetry worker keeps, so a record updates
//! its counters and histograms without a registry lookup.

use std::collections::HashMap;
use std::sync::Arc;

use super::cost;
use crate::telemetry::labels::NONE;

/// (route, provider, model, consumer, status class) by identity: the
/// addresses of the shared label strings (the snapshot's route and
/// provider names, the consumer's name, the model label set's entries).
/// The cache entry holds the strings themselves, so an address stands for
/// one string for as long as it is cached. A lookup hashes five words and
/// clones nothing: the label strings' reference counts are shared with the
/// request threads, and touching them from the worker cost more than the
/// rest of the lookup.
type Key = [usize; 5];
/// The label strings a cached entry's key points at, kept alive with it.
type Held = [Arc<str>; 4];
/// The keys are addresses, not client input.
type Fast = foldhash::fast::RandomState;

/// Entries per map at most: past it the map starts again (the handles are
/// looked up in the registry again). Only reloads make new label strings
/// for the same names, so this is rarely reached.
const MAX: usize = 4096;

/// The handles of one (route, provider, model, status class): looked up
/// once, then updated without touching the registry. Each telemetry worker
/// keeps its own (the handles share the registry's atomics); as bounded as
/// the labels.
pub(super) struct RequestSeries {
    pub(super) requests: metrics::Counter,
    pub(super) duration: metrics::Histogram,
    pub(super) overhead: metrics::Histogram,
    /// Streams only: registered on first use, so answers that are not
    /// streamed add no empty histograms to the exposition.
    pub(super) first_token: Option<metrics::Histogram>,
    pub(super) per_token: Option<metrics::Histogram>,
    pub(super) tokens: [Option<metrics::Counter>; 8],
    pub(super) cost: cost::CostSeries,
}

#[derive(Default)]
pub struct SeriesCache {
    requests: HashMap<Key, (RequestSeries, Held), Fast>,
    attempts: HashMap<Key, (metrics::Histogram, Held), Fast>,
    none: Option<Arc<str>>,
}

impl SeriesCache {
    /// The `none` label, one string for every record.
    pub(super) fn none(&mut self) -> Arc<str> {
        self.none.get_or_insert_with(|| Arc::from(NONE)).clone()
    }

    /// The request series for `labels` (route, provider, model, consumer)
    /// and `class`; `make` registers it on a miss.
    pub(super) fn request(
        &mut self,
        labels: [&Arc<str>; 4],
        class: &'static str,
        make: impl FnOnce() -> RequestSeries,
    ) -> &mut RequestSeries {
        &mut lookup(&mut self.requests, labels, class, make).0
    }

    /// The upstream-duration histogram of an attempt.
    pub(super) fn attempt(
        &mut self,
        labels: [&Arc<str>; 4],
        class: &'static str,
        make: impl FnOnce() -> metrics::Histogram,
    ) -> &metrics::Histogram {
        &lookup(&mut self.attempts, labels, class, make).0
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.requests.len() + self.attempts.len()
    }
}

fn lookup<'m, V>(
    map: &'m mut HashMap<Key, (V, Held), Fast>,
    labels: [&Arc<str>; 4],
    class: &'static str,
    make: impl FnOnce() -> V,
) -> &'m mut (V, Held) {
    let [a, b, c, d] = labels.map(|l| Arc::as_ptr(l).cast::<u8>() as usize);
    let key = [a, b, c, d, class.as_ptr() as usize];
    if map.len() >= MAX && !map.contains_key(&key) {
        map.clear();
    }
    map.entry(key)
        .or_insert_with(|| (make(), labels.map(Arc::clone)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(names: [&str; 4]) -> [Arc<str>; 4] {
        names.map(Arc::from)
    }

    #[test]
    fn one_entry_per_set_of_label_strings() {
        let mut cache = SeriesCache::default();
        let l = labels(["r", "p", "m", "c"]);
        let mut made = 0;
        for _ in 0..3 {
            cache.attempt([&l[0], &l[1], &l[2], &l[3]], "2xx", || {
                made += 1;
                metrics::Histogram::noop()
            });
        }
        assert_eq!(made, 1);
        // Another class is another series.
        cache.attempt([&l[0], &l[1], &l[2], &l[3]], "5xx", || {
            made += 1;
            metrics::Histogram::noop()
        });
        assert_eq!((made, cache.len()), (2, 2));
        // The entry holds its label strings: their addresses cannot be
        // taken by other strings while it is cached.
        assert!(l.iter().all(|s| Arc::strong_count(s) == 3));
    }

    #[test]
    fn new_label_strings_are_new_entries_and_the_cache_stays_bounded() {
        let mut cache = SeriesCache::default();
        let mut made = 0;
        for _ in 0..MAX + 10 {
            // Equal text, new strings (as a reload makes): a miss each.
            let l = labels(["r", "p", "m", "c"]);
            cache.attempt([&l[0], &l[1], &l[2], &l[3]], "2xx", || {
                made += 1;
                metrics::Histogram::noop()
            });
        }
        assert_eq!(made, MAX + 10);
        assert!(cache.len() <= MAX, "{} entries", cache.len());
    }
}
