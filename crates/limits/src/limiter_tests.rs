use std::sync::{Arc, Barrier};
use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::MemoryStore;
use crate::format::format_reset;

/// The in-memory store answers at once: poll the limiter's future once.
fn now<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => panic!("the memory store never waits"),
    }
}

/// The limiter's calls, finished at once, with the rejection unwrapped.
trait Now {
    fn reserve_now(
        &self,
        rules: &[Rule<'_>],
        demand: Demand,
        at: Instant,
    ) -> Result<Reservation, Box<Rejection>>;
    fn settle_now(&self, r: Reservation, actual: u64, at: Instant);
}

impl Now for Limiter<MemoryStore> {
    fn reserve_now(
        &self,
        rules: &[Rule<'_>],
        demand: Demand,
        at: Instant,
    ) -> Result<Reservation, Box<Rejection>> {
        match now(self.reserve(rules, demand, at)) {
            Ok(r) => Ok(r),
            Err(ReserveError::Rejected(r)) => Err(r),
            Err(ReserveError::Store(e)) => panic!("memory store failed: {e}"),
        }
    }
    fn settle_now(&self, r: Reservation, actual: u64, at: Instant) {
        if let Err(e) = now(self.settle(r, actual, at)) {
            panic!("memory store failed: {e}");
        }
    }
}

fn limiter() -> (Limiter<MemoryStore>, Instant) {
    let t0 = Instant::now();
    (Limiter::new(MemoryStore::new(), t0), t0)
}

fn at(t0: Instant, ms: u64) -> Instant {
    t0 + Duration::from_millis(ms)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const RPS5: [Limit; 1] = [Limit::requests(Per::Second, 5)];
const RPM10: [Limit; 1] = [Limit::requests(Per::Minute, 10)];
const TPM1000: [Limit; 1] = [Limit::tokens(Per::Minute, 1000)];

fn rule<'a>(key: &'a str, limits: &'a [Limit]) -> [Rule<'a>; 1] {
    [Rule { key, limits }]
}

#[test]
fn concurrent_burst_admits_exactly_the_limit_then_the_next_window_admits_again() {
    let (limiter, t0) = limiter();
    let limiter = Arc::new(limiter);
    let barrier = Arc::new(Barrier::new(20));
    let handles: Vec<_> = (0..20)
        .map(|_| {
            let (limiter, barrier) = (Arc::clone(&limiter), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                limiter.reserve_now(&rule("consumer:team-a", &RPS5), Demand::request(0), t0)
            })
        })
        .collect();
    let results: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().unwrap_or_else(|_| panic!("thread panicked")))
        .collect();
    let admitted = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(admitted, 5);
    let retry = results
        .iter()
        .find_map(|r| r.as_ref().err())
        .and_then(|e| e.retry_after);
    // Bucket [0, 100 ms) is counted in full until the window's start passes it.
    assert_eq!(retry, Some(ms(1_100)));

    let again = |t| {
        (0..20)
            .filter(|_| {
                limiter
                    .reserve_now(&rule("consumer:team-a", &RPS5), Demand::request(0), t)
                    .is_ok()
            })
            .count()
    };
    assert_eq!(again(at(t0, 1_099)), 0);
    assert_eq!(again(at(t0, 1_100)), 5);
}

#[test]
fn a_sliding_window_never_admits_twice_the_limit_across_a_minute_edge() {
    let (l, t0) = limiter();
    let r = rule("consumer:a", &RPM10);
    let admit = |t: u64, n: usize| {
        (0..n)
            .filter(|_| l.reserve_now(&r, Demand::request(0), at(t0, t)).is_ok())
            .count()
    };
    assert_eq!(admit(59_500, 10), 10, "10 at 0:59.5");
    assert_eq!(admit(61_000, 10), 0, "none at 1:01");
    assert_eq!(admit(119_999, 10), 0, "none at 1:59.999");
    assert_eq!(admit(120_000, 11), 10, "10 once 0:59's bucket has left");

    // Spread over two buckets, capacity comes back bucket by bucket.
    let (l, t0) = limiter();
    let admit = |t: u64, n: usize| {
        (0..n)
            .filter(|_| l.reserve_now(&r, Demand::request(0), at(t0, t)).is_ok())
            .count()
    };
    assert_eq!(admit(30_200, 5), 5);
    assert_eq!(admit(59_500, 5), 5);
    assert_eq!(admit(61_000, 1), 0);
    assert_eq!(admit(90_999, 1), 0);
    assert_eq!(admit(91_000, 6), 5, "0:30's five have left at 1:31");
    let Err(rej) = l.reserve_now(&r, Demand::request(0), at(t0, 91_000)) else {
        panic!("the window is full");
    };
    assert_eq!(rej.retry_after, Some(ms(120_000 - 91_000)));
    assert_eq!(rej.reason, Reason::Exceeded);
}

#[test]
fn settling_below_the_reserve_frees_the_difference() {
    let (l, t0) = limiter();
    let r = rule("rule:per-user:alice", &TPM1000);
    let first = l.reserve_now(&r, Demand::request(800), t0);
    let Ok(first) = first else { panic!("fits") };
    assert_eq!(first.headers().tokens.map(|t| t.remaining), Some(200));
    assert!(l.reserve_now(&r, Demand::request(300), at(t0, 10)).is_err());
    l.settle_now(first, 100, at(t0, 20));
    let Ok(second) = l.reserve_now(&r, Demand::request(300), at(t0, 30)) else {
        panic!("100 settled + 300 fits in 1000")
    };
    assert_eq!(second.headers().tokens.map(|t| t.remaining), Some(600));
    // Settling equal to the reserve changes nothing.
    l.settle_now(second, 300, at(t0, 40));
    assert!(l.reserve_now(&r, Demand::request(600), at(t0, 50)).is_ok());
    assert!(l.reserve_now(&r, Demand::request(1), at(t0, 60)).is_err());
}

#[test]
fn a_zero_reserve_still_settles_its_real_usage() {
    let (l, t0) = limiter();
    let r = rule("consumer:a", &TPM1000);
    let Ok(res) = l.reserve_now(&r, Demand::request(0), t0) else {
        panic!("fits")
    };
    l.settle_now(res, 700, at(t0, 2_000));
    assert!(
        l.reserve_now(&r, Demand::request(301), at(t0, 2_000))
            .is_err()
    );
    assert!(
        l.reserve_now(&r, Demand::request(300), at(t0, 2_000))
            .is_ok()
    );
}

#[test]
fn a_dropped_reservation_keeps_its_reserve() {
    let (l, t0) = limiter();
    let r = rule("consumer:a", &TPM1000);
    let reservation = l.reserve_now(&r, Demand::request(800), t0);
    assert!(reservation.is_ok());
    drop(reservation); // client left: no settle
    assert!(
        l.reserve_now(&r, Demand::request(300), at(t0, 5_000))
            .is_err()
    );
    assert!(
        l.reserve_now(&r, Demand::request(200), at(t0, 5_000))
            .is_ok()
    );
}

#[test]
fn usage_above_the_reserve_is_counted_in_the_reserved_bucket() {
    let (l, t0) = limiter();
    let r = rule("consumer:a", &TPM1000);
    let Ok(res) = l.reserve_now(&r, Demand::request(100), at(t0, 10_500)) else {
        panic!("fits")
    };
    l.settle_now(res, 1_500, at(t0, 40_000));
    let Err(rej) = l.reserve_now(&r, Demand::request(1), at(t0, 40_000)) else {
        panic!("over the limit after settle")
    };
    // Charged in the 0:10 bucket (not at 0:40): it leaves at 1:11.
    assert_eq!(rej.retry_after, Some(ms(71_000 - 40_000)));
    assert!(
        l.reserve_now(&r, Demand::request(1000), at(t0, 71_000))
            .is_ok()
    );
}

#[test]
fn a_reservation_larger_than_the_limit_can_never_fit() {
    let (l, t0) = limiter();
    let limits = [
        Limit::requests(Per::Minute, 10),
        Limit::tokens(Per::Minute, 1000),
    ];
    let r = rule("consumer:a", &limits);
    let Err(rej) = l.reserve_now(&r, Demand::request(1_001), t0) else {
        panic!("1001 > 1000")
    };
    assert_eq!(rej.reason, Reason::NeverFits);
    assert_eq!(rej.retry_after, None);
    assert_eq!(rej.limit, Limit::tokens(Per::Minute, 1000));
    assert_eq!(rej.key, "consumer:a");
    // Nothing was charged: the request counter is untouched.
    let Ok(ok) = l.reserve_now(&r, Demand::request(1_000), t0) else {
        panic!("exactly the limit fits")
    };
    assert_eq!(ok.headers().requests.map(|i| i.remaining), Some(9));
    // Never fits even when the window is full (it is not "retry later").
    let Err(rej) = l.reserve_now(&r, Demand::request(5_000), t0) else {
        panic!("never fits")
    };
    assert_eq!(rej.reason, Reason::NeverFits);
}

#[test]
fn several_windows_are_all_or_nothing() {
    let (l, t0) = limiter();
    let per_key = [
        Limit::requests(Per::Second, 2),
        Limit::requests(Per::Minute, 3),
    ];
    let consumer = [Limit::requests(Per::Minute, 10)];
    let user = [Limit::tokens(Per::Minute, 1000)];
    let rules = [
        Rule {
            key: "consumer:a",
            limits: &consumer,
        },
        Rule {
            key: "rule:per-user:bob",
            limits: &user,
        },
    ];
    assert!(l.reserve_now(&rules, Demand::request(900), t0).is_ok());
    // The user's tokens refuse: the consumer's request counter must not move.
    for i in 0..5 {
        let Err(rej) = l.reserve_now(&rules, Demand::request(200), at(t0, i)) else {
            panic!("tokens are short")
        };
        assert_eq!(rej.key, "rule:per-user:bob");
        assert_eq!(rej.headers.requests.map(|r| r.remaining), Some(9));
    }
    let Ok(ok) = l.reserve_now(&rules, Demand::request(100), at(t0, 10)) else {
        panic!("100 fits")
    };
    assert_eq!(ok.headers().requests.map(|r| r.remaining), Some(8));
    assert_eq!(ok.headers().tokens.map(|r| r.remaining), Some(0));

    // Two windows of one key: the second-window refusal charges no minute.
    let r = rule("consumer:b", &per_key);
    assert!(l.reserve_now(&r, Demand::request(0), t0).is_ok());
    assert!(l.reserve_now(&r, Demand::request(0), t0).is_ok());
    let Err(rej) = l.reserve_now(&r, Demand::request(0), t0) else {
        panic!("2 per second")
    };
    assert_eq!(rej.limit, Limit::requests(Per::Second, 2));
    assert_eq!(rej.retry_after, Some(ms(1_100)));
    // The minute saw 2, not 3: one more fits after the second.
    assert!(l.reserve_now(&r, Demand::request(0), at(t0, 1_100)).is_ok());
    let Err(rej) = l.reserve_now(&r, Demand::request(0), at(t0, 1_100)) else {
        panic!("3 per minute")
    };
    assert_eq!(rej.limit, Limit::requests(Per::Minute, 3));
    assert_eq!(rej.retry_after, Some(ms(61_000 - 1_100)));
}

#[test]
fn retry_after_and_reset_figures() {
    let (l, t0) = limiter();
    let r = rule("consumer:a", &TPM1000);
    let Ok(a) = l.reserve_now(&r, Demand::request(400), at(t0, 10_500)) else {
        panic!("fits")
    };
    let tokens = a.headers().tokens;
    assert_eq!(
        tokens,
        Some(RateInfo {
            limit: 1000,
            remaining: 600,
            reset: ms(71_000 - 10_500)
        })
    );
    assert_eq!(a.headers().requests, None, "no request rule applies");
    assert_eq!(
        tokens.map(|t| format_reset(t.reset)),
        Some("1m0.5s".to_owned())
    );
    assert!(
        l.reserve_now(&r, Demand::request(400), at(t0, 20_000))
            .is_ok()
    );
    let Err(rej) = l.reserve_now(&r, Demand::request(400), at(t0, 30_000)) else {
        panic!("800 + 400 > 1000")
    };
    // 200 must free up: the 0:10 bucket's 400 leaves at 1:11.
    assert_eq!(rej.retry_after, Some(ms(41_000)));
    assert_eq!(rej.retry_after_secs(), Some(41));
    // Back to full when the 0:20 bucket leaves, at 1:21.
    assert_eq!(
        rej.headers.tokens,
        Some(RateInfo {
            limit: 1000,
            remaining: 200,
            reset: ms(51_000)
        })
    );
    assert_eq!(
        rej.headers.tokens.map(|t| format_reset(t.reset)),
        Some("51s".to_owned())
    );
    // Needing more than the oldest bucket frees waits for the next one.
    let Err(rej) = l.reserve_now(&r, Demand::request(700), at(t0, 30_000)) else {
        panic!("800 + 700 > 1000")
    };
    assert_eq!(rej.retry_after, Some(ms(51_000)));

    // The tightest rule of a kind is the one with the least remaining.
    let (l, t0) = limiter();
    let limits = [
        Limit::requests(Per::Minute, 100),
        Limit::requests(Per::Day, 5),
    ];
    let Ok(ok) = l.reserve_now(&rule("consumer:a", &limits), Demand::request(0), t0) else {
        panic!("fits")
    };
    let day = ok.headers().requests;
    assert_eq!(day.map(|d| (d.limit, d.remaining)), Some((5, 4)));
    assert_eq!(day.map(|d| d.reset), Some(ms(61 * 1_440_000)));
    assert_eq!(
        day.map(|d| format_reset(d.reset)),
        Some("24h24m0s".to_owned())
    );
}

#[test]
fn duplicate_limits_on_one_key_count_once_with_the_smaller_amount() {
    let (l, t0) = limiter();
    let a = [Limit::requests(Per::Second, 3)];
    let b = [Limit::requests(Per::Second, 2)];
    let rules = [
        Rule {
            key: "k",
            limits: &a,
        },
        Rule {
            key: "k",
            limits: &b,
        },
    ];
    assert!(l.reserve_now(&rules, Demand::request(0), t0).is_ok());
    assert!(l.reserve_now(&rules, Demand::request(0), t0).is_ok());
    assert!(l.reserve_now(&rules, Demand::request(0), t0).is_err());
}

#[test]
fn no_rules_admit_without_touching_the_store() {
    let (l, t0) = limiter();
    let Ok(res) = l.reserve_now(&[], Demand::request(10), t0) else {
        panic!("nothing limits")
    };
    assert_eq!(res.headers(), RateHeaders::default());
    l.settle_now(res, 5, t0);
    assert_eq!(l.store().keys(), 0);
}

#[test]
fn sweep_forgets_keys_whose_windows_are_empty() {
    let (l, t0) = limiter();
    let tpm = [Limit::tokens(Per::Minute, 10)];
    for i in 0..1_000 {
        let key = format!("rule:per-user:{i}");
        assert!(
            l.reserve_now(&rule(&key, &RPS5), Demand::request(1), t0)
                .is_ok()
        );
    }
    assert!(
        l.reserve_now(&rule("consumer:long", &tpm), Demand::request(1), t0)
            .is_ok()
    );
    assert_eq!(l.store().keys(), 1_001);
    assert_eq!(l.sweep(at(t0, 1_099)), 0, "still counted");
    assert_eq!(l.sweep(at(t0, 1_100)), 1_000);
    assert_eq!(l.store().keys(), 1);
    assert_eq!(l.sweep(at(t0, 61_000)), 1);
    assert_eq!(l.store().keys(), 0);
    // A reservation settled to zero leaves nothing behind either.
    let Ok(res) = l.reserve_now(&rule("consumer:z", &tpm), Demand::request(5), t0) else {
        panic!("fits")
    };
    l.settle_now(res, 0, t0);
    assert_eq!(l.sweep(t0), 1);
}

#[test]
fn the_store_sweeps_itself_as_keys_come_and_go() {
    let (l, t0) = limiter();
    // A new key every 0.5 ms, each counted for 1.1 s: ~2,200 live at a time.
    for i in 0..100_000u64 {
        let key = format!("ip:{i}");
        let _ = l.reserve_now(&rule(&key, &RPS5), Demand::request(0), at(t0, i / 2));
    }
    // Live keys plus at most one sweep interval (256 calls) per shard (64);
    // without sweeping there would be 100,000.
    let held = l.store().keys();
    assert!(held <= 2 * 2_300 + 64 * 256, "{held} keys");
}

/// Random reserve / settle / drop sequences against a brute-force log: the
/// limiter decides exactly as the bucket model does, and no interval of a
/// window's length ever holds more than the limit (settled + reserved).
#[test]
fn random_sequences_never_exceed_a_limit_over_any_window() {
    struct Event {
        t: u64,
        keys: [bool; 2],
        tokens: u64,
    }
    let key_names = ["consumer:a", "rule:per-user:b"];
    let key_limits: [&[Limit]; 2] = [
        &[
            Limit::requests(Per::Second, 5),
            Limit::tokens(Per::Second, 120),
        ],
        &[
            Limit::tokens(Per::Minute, 900),
            Limit::requests(Per::Minute, 40),
        ],
    ];
    for seed in 0..40 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let (l, t0) = limiter();
        let mut log: Vec<Event> = Vec::new();
        let mut pending: Vec<(usize, Reservation)> = Vec::new();
        let mut t = 0u64;
        let mut admitted = 0;
        for _ in 0..600 {
            t += rng.u64(0..120);
            let now = at(t0, t);
            if !pending.is_empty() && rng.u8(0..3) == 0 {
                let (i, res) = pending.swap_remove(rng.usize(0..pending.len()));
                if rng.u8(0..4) == 0 {
                    drop(res); // client gone: keeps its reserve
                } else {
                    let actual = rng.u64(0..=res.tokens());
                    l.settle_now(res, actual, now);
                    log[i].tokens = actual;
                }
                continue;
            }
            let keys = match rng.u8(0..3) {
                0 => [true, false],
                1 => [false, true],
                _ => [true, true],
            };
            let rules: Vec<Rule<'_>> = (0..2)
                .filter(|&k| keys[k])
                .map(|k| Rule {
                    key: key_names[k],
                    limits: key_limits[k],
                })
                .collect();
            let tokens = rng.u64(0..80);
            // The model: sum of counted buckets, per limit.
            let fits = (0..2).filter(|&k| keys[k]).all(|k| {
                key_limits[k].iter().all(|lim| {
                    let oldest = lim.per.oldest_counted(t);
                    let used: u64 = log
                        .iter()
                        .filter(|e| e.keys[k] && lim.per.bucket_at(e.t) >= oldest)
                        .map(|e| match lim.kind {
                            Kind::Requests => 1,
                            Kind::Tokens | Kind::Spend => e.tokens,
                        })
                        .sum();
                    let amount = match lim.kind {
                        Kind::Requests => 1,
                        Kind::Tokens | Kind::Spend => tokens,
                    };
                    used + amount <= lim.amount
                })
            });
            let got = l.reserve_now(&rules, Demand::request(tokens), now);
            assert_eq!(
                got.is_ok(),
                fits,
                "seed {seed} t {t}: limiter and model disagree"
            );
            if let Ok(res) = got {
                admitted += 1;
                log.push(Event { t, keys, tokens });
                pending.push((log.len() - 1, res));
                // The window ending now holds no more than the limit.
                for k in (0..2).filter(|&k| keys[k]) {
                    for lim in key_limits[k] {
                        let w = lim.per.window_ms();
                        let sum: u64 = log
                            .iter()
                            .filter(|e| e.keys[k] && e.t + w > t)
                            .map(|e| match lim.kind {
                                Kind::Requests => 1,
                                Kind::Tokens | Kind::Spend => e.tokens,
                            })
                            .sum();
                        assert!(sum <= lim.amount, "seed {seed} t {t}: {sum} > {lim:?}");
                    }
                }
            }
        }
        assert!(
            admitted > 100,
            "seed {seed}: the test must exercise admissions"
        );
        // Finally, every interval [s, s + window) starting at an event.
        for (k, limits) in key_limits.iter().enumerate() {
            for lim in *limits {
                let w = lim.per.window_ms();
                for start in log.iter().filter(|e| e.keys[k]) {
                    let sum: u64 = log
                        .iter()
                        .filter(|e| e.keys[k] && e.t >= start.t && e.t < start.t + w)
                        .map(|e| match lim.kind {
                            Kind::Requests => 1,
                            Kind::Tokens | Kind::Spend => e.tokens,
                        })
                        .sum();
                    assert!(sum <= lim.amount, "seed {seed}: {sum} > {lim:?}");
                }
            }
        }
    }
}

#[test]
fn a_shared_timeline_aligns_buckets_to_its_epoch() {
    let t0 = Instant::now();
    // 1,700,000,000,059,950 ms: 50 ms before a second (and a bucket) ends.
    let unix_ms = 1_700_000_000_059_950;
    let l = Limiter::with_epoch(MemoryStore::new(), t0, unix_ms);
    let r = rule("consumer:a", &RPS5);
    assert_eq!(
        (0..6)
            .filter(|_| l.reserve_now(&r, Demand::request(0), t0).is_ok())
            .count(),
        5
    );
    let Err(rej) = l.reserve_now(&r, Demand::request(0), t0) else {
        panic!("full")
    };
    // The bucket [..59_900, ..60_000) leaves 1.1 s after it began.
    assert_eq!(rej.retry_after, Some(ms(1_050)));
    assert!(l.reserve_now(&r, Demand::request(0), at(t0, 1_050)).is_ok());
}

#[test]
fn worked_example_of_docs_limits_md() {
    let (l, t0) = limiter();
    let r = rule("consumer:team-a", &TPM1000);
    let tokens = |res: &Reservation| {
        res.headers()
            .tokens
            .map(|t| (t.remaining, format_reset(t.reset)))
    };
    let Ok(a) = l.reserve_now(&r, Demand::request(400), at(t0, 10_500)) else {
        panic!("A")
    };
    assert_eq!(tokens(&a), Some((600, "1m0.5s".to_owned())));
    let Ok(b) = l.reserve_now(&r, Demand::request(400), at(t0, 20_000)) else {
        panic!("B")
    };
    assert_eq!(tokens(&b), Some((200, "1m1s".to_owned())));
    let Err(c) = l.reserve_now(&r, Demand::request(400), at(t0, 30_000)) else {
        panic!("C")
    };
    assert_eq!(
        (c.reason, c.retry_after_secs()),
        (Reason::Exceeded, Some(41))
    );
    let info = c
        .headers
        .tokens
        .map(|t| (t.remaining, format_reset(t.reset)));
    assert_eq!(info, Some((200, "51s".to_owned())));
    let Err(d) = l.reserve_now(&r, Demand::request(1_200), at(t0, 30_000)) else {
        panic!("D")
    };
    assert_eq!((d.reason, d.retry_after), (Reason::NeverFits, None));
    l.settle_now(a, 120, at(t0, 35_000));
    let Ok(c) = l.reserve_now(&r, Demand::request(400), at(t0, 36_000)) else {
        panic!("C again")
    };
    assert_eq!(tokens(&c).map(|t| t.0), Some(80));
    drop(b);
    // 1:11: bucket 10 has left, 800 remain counted; 1:21: 400.
    let probe = |t| {
        l.reserve_now(&r, Demand::request(1_000), at(t0, t))
            .err()
            .map(|e| e.headers.tokens.map(|i| i.remaining))
    };
    assert_eq!(probe(71_000), Some(Some(200)));
    assert_eq!(probe(81_000), Some(Some(600)));
    assert!(
        probe(97_000).is_none(),
        "all gone at 1:37 (bucket 36 leaves)"
    );
    drop(c);
}

#[test]
fn openai_header_pairs_name_each_kind_that_applies() {
    let (l, t0) = limiter();
    let limits = [
        Limit::requests(Per::Minute, 600),
        Limit::tokens(Per::Minute, 1000),
    ];
    let Ok(res) = l.reserve_now(&rule("consumer:a", &limits), Demand::request(250), t0) else {
        panic!("fits")
    };
    let pairs = res.headers().openai_headers();
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        pairs,
        [
            ("x-ratelimit-limit-requests", "600"),
            ("x-ratelimit-remaining-requests", "599"),
            ("x-ratelimit-reset-requests", "1m1s"),
            ("x-ratelimit-limit-tokens", "1000"),
            ("x-ratelimit-remaining-tokens", "750"),
            ("x-ratelimit-reset-tokens", "1m1s"),
        ]
    );
    let only_requests = RateHeaders {
        requests: Some(RateInfo {
            limit: 5,
            remaining: 0,
            reset: ms(250),
        }),
        tokens: None,
    };
    let names: Vec<&str> = only_requests
        .openai_headers()
        .iter()
        .map(|(k, _)| *k)
        .collect();
    assert_eq!(
        names,
        [
            "x-ratelimit-limit-requests",
            "x-ratelimit-remaining-requests",
            "x-ratelimit-reset-requests"
        ]
    );
}

#[test]
fn the_limiter_futures_can_cross_threads() {
    fn is_send<T: Send>(_: &T) {}
    let (l, t0) = limiter();
    let rules = rule("consumer:a", &RPS5);
    let reserve = l.reserve(&rules, Demand::request(0), t0);
    is_send(&reserve);
    let Ok(res) = now(reserve) else {
        panic!("admitted")
    };
    let settle = l.settle(res, 0, t0);
    is_send(&settle);
    assert_eq!(now(settle), Ok(()));
}
