// O(1) copy followed by one edit at 1M items: snapshot the tree, then replace
// one random item in the copy (copy-on-write clones one root-to-leaf path);
// the same with local (non-atomic) reference counts; an edit of an unshared
// tree (in place); baseline: copy a std::vector and edit it.
#include "btree/bench_common.hpp"

#include <vector>

using namespace crdt_bench;
namespace bt = crdt::btree;

namespace {
struct local_policy : bt::btree_defaults {
    using refcount = bt::local_refcount;
};
using local_tree = bt::tree<run_traits, local_policy>;

template <class Tree>
void copy_then_edit(benchmark::State& state) {
    const auto runs = make_runs(million);
    const Tree t = Tree::build(runs.begin(), runs.end());
    std::mt19937_64 rng(1);
    for (auto _ : state) {
        Tree copy = t; // O(1)
        copy.replace(copy.template find<count_dim>(rng() % million, bt::bias::right), run{1, 0, 0});
        benchmark::DoNotOptimize(copy.summary());
    }
    state.SetItemsProcessed(state.iterations());
}
} // namespace

static void BM_tree_copy_then_edit_1M(benchmark::State& state) {
    copy_then_edit<run_tree>(state);
}
BENCHMARK(BM_tree_copy_then_edit_1M);

static void BM_tree_local_rc_copy_then_edit_1M(benchmark::State& state) {
    copy_then_edit<local_tree>(state);
}
BENCHMARK(BM_tree_local_rc_copy_then_edit_1M);

static void BM_tree_edit_unshared_1M(benchmark::State& state) {
    run_tree t = run_tree::from_range(make_runs(million));
    std::mt19937_64 rng(1);
    for (auto _ : state) {
        t.replace(t.find<count_dim>(rng() % million, bt::bias::right), run{1, 0, 0});
    }
    benchmark::DoNotOptimize(t.summary());
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_tree_edit_unshared_1M);

static void BM_vector_copy_then_edit_1M(benchmark::State& state) {
    const auto v = make_runs(million);
    std::mt19937_64 rng(1);
    for (auto _ : state) {
        std::vector<run> copy = v;
        copy[rng() % million] = run{1, 0, 0};
        benchmark::DoNotOptimize(copy.data());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_vector_copy_then_edit_1M);

BENCHMARK_MAIN();
