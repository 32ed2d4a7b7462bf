// examples/storage_adapters.cpp -- the storage adapters side by side: the
// same operations on memory, file, log and SQLite stores, a root pointer
// updated with compare-and-swap, a batch, the append log, and the lazy
// LRU cache. Runs as the test examples/storage_adapters.
#include <crdt/storage/cached_storage.hpp>
#include <crdt/storage/file_storage.hpp>
#include <crdt/storage/log_storage.hpp>
#include <crdt/storage/memory_storage.hpp>
#include <crdt/storage/sqlite_storage.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

namespace fs = std::filesystem;

namespace {

std::string text(const crdt::storage_bytes& b) {
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// Works with any adapter: save deltas, read them back by prefix, then
// "compact" the library's way -- write a snapshot, delete only what we loaded.
template <class Store>
void demo(const char* name, Store& store) {
    const crdt::storage_key doc{"workspace", "doc-1"};
    store.save(doc / "delta" / "h1", crdt::to_storage_bytes("insert 'a'"));
    store.save(doc / "delta" / "h2", crdt::to_storage_bytes("insert 'b'"));
    const auto deltas = store.load_range(doc / "delta");
    std::string snapshot;
    for (const auto& kv : deltas) {
        snapshot += text(kv.value) + "; ";
    }
    store.save(doc / "snapshot" / "s1", crdt::to_storage_bytes(snapshot));
    for (const auto& kv : deltas) {
        store.remove(kv.key);
    }
    store.flush();
    const auto all = store.load_range(doc);
    std::printf("%-8s %zu key(s) under %s: %s = \"%s\"\n", name, all.size(),
                doc.to_string().c_str(), all.front().key.to_string().c_str(),
                text(all.front().value).c_str());
    if (all.size() != 1 || text(all.front().value) != "insert 'a'; insert 'b'; ") {
        std::exit(1);
    }

    if constexpr (crdt::cas_storage<Store>) {
        // A root pointer: read its version (ETag), write only if unchanged.
        const crdt::storage_key root{"workspace", "root"};
        const auto v1 = store.cas(root, 0, crdt::to_storage_bytes("manifest-1"));
        const auto stale = store.cas(root, 0, crdt::to_storage_bytes("manifest-x"));
        const auto v2 = store.cas(root, *v1, crdt::to_storage_bytes("manifest-2"));
        std::printf("%-8s cas: create %s, stale write %s, update %s\n", name, v1 ? "won" : "lost",
                    stale ? "won" : "lost", v2 ? "won" : "lost");
        if (!v1 || stale || !v2) {
            std::exit(1);
        }
    }
    if constexpr (crdt::batch_storage<Store>) {
        crdt::write_batch batch;
        batch.save(doc / "a", crdt::to_storage_bytes("1"))
            .save(doc / "b", crdt::to_storage_bytes("2"));
        store.commit(batch); // all or nothing, also across a crash
    }
    if constexpr (crdt::append_log_storage<Store>) {
        const auto s1 = store.append(crdt::to_storage_bytes("op 1"));
        store.append(crdt::to_storage_bytes("op 2"));
        std::printf("%-8s log: %zu entries after sequence %llu\n", name,
                    store.read_since(s1).size() + 1, static_cast<unsigned long long>(s1 - 1));
    }
}

} // namespace

int main() {
    const auto dir =
        fs::temp_directory_path() / ("crdt-example-storage-" + std::to_string(::getpid()));
    fs::remove_all(dir);

    crdt::memory_storage memory;
    demo("memory", memory);

    crdt::file_storage files(dir / "files"); // one file per key, sync-folder friendly
    demo("file", files);

    {
        crdt::log_storage log(dir / "log", {crdt::durability::full, 1 << 20});
        demo("log", log);
        log.compact(); // rewrite live data, swap the manifest atomically
    }

    crdt::sqlite_storage sqlite(dir / "store.db");
    demo("sqlite", sqlite);

    // Lazy loading: the key index in memory, values read on demand, an LRU
    // bounded in bytes in front of the log.
    using cached_log = crdt::cached_storage<crdt::log_storage>;
    cached_log cached(cached_log::options{1 << 20}, dir / "log");
    (void)cached.load(crdt::storage_key{"workspace", "doc-1", "snapshot", "s1"});
    (void)cached.load(crdt::storage_key{"workspace", "doc-1", "snapshot", "s1"});
    (void)cached.load(crdt::storage_key{"no", "such", "key"});
    const auto st = cached.stats();
    std::printf("cached   %zu keys indexed, %llu hit, %llu miss, %llu answered without I/O\n",
                st.keys, static_cast<unsigned long long>(st.hits),
                static_cast<unsigned long long>(st.misses),
                static_cast<unsigned long long>(st.absent));

    fs::remove_all(dir);
    return st.hits == 1 && st.misses == 1 && st.absent == 1 ? 0 : 1;
}
