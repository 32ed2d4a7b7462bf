// crdt/testing/summary_laws.hpp -- law checkers for summarized B-tree
// traits, dimensions and walk classifiers (crdt/btree/summary.hpp).
//
// The tree folds summaries in whatever grouping its node boundaries give, so
// a summary that is not a monoid silently gives different answers after a
// split, an append or a bulk build. Run these on your own traits:
//
//   std::vector<run> items = ...;                      // any sample, in order
//   crdt::testing::check_summary_laws<run_traits>(items, seed);
//   crdt::testing::check_dimension_laws<run_traits>(items, utf16_dim{}, seed);
//   crdt::testing::check_classifier_monotone<run_traits>(items, classify, seed);
//   crdt::testing::check_patch_laws<run_traits>(items, seed);  // traits with patch
//
// A broken law throws crdt::testing::law_violation naming it, so the checkers
// work under Catch2, RapidCheck (shrinks the sample), GoogleTest or main().
// Requires: summary_type (and the dimension) equality-comparable.
// Complexity: O(n * rounds) combines. Thread safety: pure functions.
#pragma once

#include <crdt/btree/summary.hpp>
#include <crdt/core/config.hpp>
#include <crdt/testing/laws.hpp>

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

CRDT_BEGIN_NAMESPACE
namespace testing {

namespace testing_detail {
template <class Tr>
typename Tr::summary_type fold_items(const std::vector<typename Tr::item_type>& items,
                                     std::size_t from, std::size_t to) {
    auto s = Tr::zero();
    for (std::size_t i = from; i < to; ++i) {
        Tr::combine(s, Tr::summarize(items[i]));
    }
    return s;
}
template <class Tr>
typename Tr::summary_type combined(typename Tr::summary_type a,
                                   const typename Tr::summary_type& b) {
    Tr::combine(a, b);
    return a;
}
} // namespace testing_detail

/// Effects: checks, over the sample `items`, that zero() is a two-sided
/// identity of combine and that combine is associative: for `rounds` random
/// split points i <= j, fold[0,i) + (fold[i,j) + fold[j,n)) ==
/// (fold[0,i) + fold[i,j)) + fold[j,n) == fold[0,n).
/// Throws: law_violation("summary ...") on the first violation.
template <btree::summary_traits Tr>
requires std::equality_comparable<typename Tr::summary_type>
void check_summary_laws(const std::vector<typename Tr::item_type>& items, std::uint64_t seed,
                        std::size_t rounds = 64) {
    const auto z = Tr::zero();
    if (!(testing_detail::combined<Tr>(z, z) == z)) {
        throw law_violation("summary: zero + zero != zero");
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
        const auto s = Tr::summarize(items[i]);
        if (!(testing_detail::combined<Tr>(z, s) == s) ||
            !(testing_detail::combined<Tr>(s, z) == s)) {
            throw law_violation("summary: zero is not an identity for item " + std::to_string(i));
        }
    }
    const std::size_t n = items.size();
    const auto whole = testing_detail::fold_items<Tr>(items, 0, n);
    std::mt19937_64 rng(seed);
    for (std::size_t r = 0; r < rounds; ++r) {
        std::size_t i = static_cast<std::size_t>(rng() % (n + 1));
        std::size_t j = static_cast<std::size_t>(rng() % (n + 1));
        if (i > j) {
            std::swap(i, j);
        }
        const auto a = testing_detail::fold_items<Tr>(items, 0, i);
        const auto b = testing_detail::fold_items<Tr>(items, i, j);
        const auto c = testing_detail::fold_items<Tr>(items, j, n);
        const auto left = testing_detail::combined<Tr>(testing_detail::combined<Tr>(a, b), c);
        const auto right = testing_detail::combined<Tr>(a, testing_detail::combined<Tr>(b, c));
        if (!(left == right)) {
            throw law_violation("summary: combine is not associative at splits " +
                                std::to_string(i) + ", " + std::to_string(j));
        }
        if (!(left == whole)) {
            throw law_violation("summary: folding in parts at " + std::to_string(i) + ", " +
                                std::to_string(j) + " differs from the whole fold");
        }
    }
}

/// Effects: checks that dimension D (total or partial) agrees with itself:
/// adding the fold of a random range at once equals adding its items one by
/// one (when a partial dimension knows the range), and every single item is
/// known to a partial dimension.
/// Throws: law_violation("dimension ...") on the first violation.
template <btree::summary_traits Tr, class D>
requires(btree::dimension<D, typename Tr::summary_type> ||
         btree::partial_dimension<D, typename Tr::summary_type>) &&
    std::equality_comparable<D> void check_dimension_laws(
        const std::vector<typename Tr::item_type>& items, const D& origin, std::uint64_t seed,
        std::size_t rounds = 64) {
    const std::size_t n = items.size();
    std::mt19937_64 rng(seed);
    for (std::size_t r = 0; r < rounds; ++r) {
        std::size_t i = static_cast<std::size_t>(rng() % (n + 1));
        std::size_t j = static_cast<std::size_t>(rng() % (n + 1));
        if (i > j) {
            std::swap(i, j);
        }
        D stepwise = origin;
        for (std::size_t k = i; k < j; ++k) {
            if (!btree::try_add(stepwise, Tr::summarize(items[k]))) {
                throw law_violation("dimension: unknown over the single item " + std::to_string(k));
            }
        }
        D at_once = origin;
        if (btree::try_add(at_once, testing_detail::fold_items<Tr>(items, i, j)) &&
            !(at_once == stepwise)) {
            throw law_violation("dimension: adding the fold of [" + std::to_string(i) + ", " +
                                std::to_string(j) + ") differs from adding its items");
        }
    }
}

/// Effects: checks the patch law of traits with btree::has_patch (and of
/// patch_cold with btree::has_cold_patch): for `rounds` random ranges
/// [i, j) of `items`, a random position k in it and a random replacement
/// items[m], a patch of fold[i, j) from item k's summary to item m's that
/// returns true gives fold[i, j) with item k replaced by item m, and a patch
/// that returns false leaves the fold unchanged.
/// Requires: the summary types (and the cold one, if patched) are
/// equality-comparable.
/// Throws: law_violation("patch ...") on the first violation.
template <btree::summary_traits Tr>
requires btree::has_patch<Tr> && std::equality_comparable<typename Tr::summary_type>
void check_patch_laws(const std::vector<typename Tr::item_type>& items, std::uint64_t seed,
                      std::size_t rounds = 64) {
    const std::size_t n = items.size();
    if (n == 0) {
        return;
    }
    std::mt19937_64 rng(seed);
    const auto where = [](std::size_t i, std::size_t j, std::size_t k, std::size_t m) {
        return " in [" + std::to_string(i) + ", " + std::to_string(j) + ") at " +
               std::to_string(k) + " with item " + std::to_string(m);
    };
    for (std::size_t r = 0; r < rounds; ++r) {
        std::size_t i = static_cast<std::size_t>(rng() % n);
        std::size_t j = static_cast<std::size_t>(rng() % n);
        if (i > j) {
            std::swap(i, j);
        }
        ++j; // non-empty
        const std::size_t k = i + static_cast<std::size_t>(rng() % (j - i));
        const std::size_t m = static_cast<std::size_t>(rng() % n);
        std::vector<typename Tr::item_type> after(items.begin() + static_cast<std::ptrdiff_t>(i),
                                                  items.begin() + static_cast<std::ptrdiff_t>(j));
        after[k - i] = items[m];
        const auto before_fold = testing_detail::fold_items<Tr>(items, i, j);
        const auto after_fold = testing_detail::fold_items<Tr>(after, 0, after.size());
        auto acc = before_fold;
        if (Tr::patch(acc, Tr::summarize(items[k]), Tr::summarize(items[m]))) {
            if (!(acc == after_fold)) {
                throw law_violation("patch: the patched fold differs" + where(i, j, k, m));
            }
        } else if (!(acc == before_fold)) {
            throw law_violation("patch: a refused patch changed the fold" + where(i, j, k, m));
        }
        if constexpr (btree::has_cold_patch<Tr>) {
            const auto cold_fold = [](const auto& v, std::size_t from, std::size_t to) {
                auto c = Tr::zero_cold();
                for (std::size_t x = from; x < to; ++x) {
                    Tr::combine_cold(c, Tr::summarize_cold(v[x]));
                }
                return c;
            };
            const auto cold_before = cold_fold(items, i, j);
            const auto cold_after = cold_fold(after, 0, after.size());
            auto cacc = cold_before;
            if (Tr::patch_cold(cacc, Tr::summarize_cold(items[k]), Tr::summarize_cold(items[m]))) {
                if (!(cacc == cold_after)) {
                    throw law_violation("patch: the patched cold fold differs" + where(i, j, k, m));
                }
            } else if (!(cacc == cold_before)) {
                throw law_violation("patch: a refused cold patch changed the fold" +
                                    where(i, j, k, m));
            }
        }
    }
}

/// Effects: checks that a walk classifier (summary -> btree::visit) is
/// monotone: when it skips the fold of a random range, it skips every item in
/// it; when it takes the range whole, it skips none of them.
/// Throws: law_violation("classifier ...") on the first violation.
template <btree::summary_traits Tr, class Classify>
void check_classifier_monotone(const std::vector<typename Tr::item_type>& items, Classify classify,
                               std::uint64_t seed, std::size_t rounds = 64) {
    const std::size_t n = items.size();
    std::mt19937_64 rng(seed);
    for (std::size_t r = 0; r < rounds; ++r) {
        std::size_t i = static_cast<std::size_t>(rng() % (n + 1));
        std::size_t j = static_cast<std::size_t>(rng() % (n + 1));
        if (i > j) {
            std::swap(i, j);
        }
        const btree::visit v = classify(testing_detail::fold_items<Tr>(items, i, j));
        if (v == btree::visit::descend) {
            continue;
        }
        for (std::size_t k = i; k < j; ++k) {
            const btree::visit vk = classify(Tr::summarize(items[k]));
            if (v == btree::visit::skip && vk != btree::visit::skip) {
                throw law_violation("classifier: skips [" + std::to_string(i) + ", " +
                                    std::to_string(j) + ") but not item " + std::to_string(k));
            }
            if (v == btree::visit::take_whole && vk == btree::visit::skip) {
                throw law_violation("classifier: takes [" + std::to_string(i) + ", " +
                                    std::to_string(j) + ") whole but skips item " +
                                    std::to_string(k));
            }
        }
    }
}

} // namespace testing
CRDT_END_NAMESPACE
